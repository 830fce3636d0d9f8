"""48 independent resources. Under `--parallel 16` Pulumi's Python host lets the SDK have 64
resource calls in flight (four threads per step); asyncio's default executor never has more
than 32 threads, so all 48 can only be in flight at once on the host's own executor."""
import pulumi


class Random(pulumi.CustomResource):
    def __init__(self, name):
        super().__init__("local:index:Random", name, {"length": 8})


for i in range(48):
    Random(f"r{i}")
