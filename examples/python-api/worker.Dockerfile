# The background worker: same code, another entry point.
FROM python:3.12-slim
ADD requirements.txt worker.py /app/
RUN pip install --no-cache-dir -r /app/requirements.txt
ENTRYPOINT ["python", "/app/worker.py", "--concurrency", "4", "--log-level", "info"]
