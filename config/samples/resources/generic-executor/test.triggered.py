# generic-executor-service compatible Python: python3 <script> <eventfile>.
import json
import sys

with open(sys.argv[1]) as f:
    event = json.load(f)
data = event["data"]
print(f"testing {data['service']} in {data['stage']} ({data.get('test', {}).get('teststrategy', 'none')})")
