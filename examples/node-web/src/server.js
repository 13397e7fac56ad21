const http = require("node:http");

const port = Number(process.env.PORT || 3000);
const token = process.env.API_TOKEN; // required to add notes
const notes = [];

function send(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let data = "";
    req.on("data", (chunk) => (data += chunk));
    req.on("end", () => resolve(data));
    req.on("error", reject);
  });
}

const server = http.createServer(async (req, res) => {
  if (req.method === "GET" && req.url === "/health") {
    return send(res, 200, { status: "ok" });
  }
  if (req.method === "GET" && req.url === "/notes") {
    return send(res, 200, notes);
  }
  if (req.method === "POST" && req.url === "/notes") {
    if (!token || req.headers.authorization !== `Bearer ${token}`) {
      return send(res, 401, { error: "unauthorized" });
    }
    let text = "";
    try {
      text = String(JSON.parse(await readBody(req)).text || "").trim();
    } catch {
      return send(res, 400, { error: "invalid JSON" });
    }
    if (!text) {
      return send(res, 400, { error: "text is required" });
    }
    const note = { id: notes.length + 1, text, created: new Date().toISOString() };
    notes.push(note);
    return send(res, 201, note);
  }
  return send(res, 404, { error: "not found" });
});

server.listen(port, () => console.log(`node-web listening on ${port}`));

// stop accepting connections and finish open requests when the container is stopped
process.on("SIGTERM", () => server.close(() => process.exit(0)));
