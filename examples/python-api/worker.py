import argparse
import time

parser = argparse.ArgumentParser()
parser.add_argument("--concurrency", type=int, default=1)
parser.add_argument("--log-level", default="warning")
args = parser.parse_args()

while True:
    time.sleep(5)
