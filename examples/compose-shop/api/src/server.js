const http = require("node:http");

const server = http.createServer((req, res) => {
  if (req.url === "/health") {
    res.writeHead(200).end("ok");
    return;
  }
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ products: [] }));
});

server.listen(3000);
process.on("SIGTERM", () => server.close(() => process.exit(0)));
