import time

from pulumi import CustomResource


class Random(CustomResource):
    def __init__(self, name, length):
        super().__init__("local:index:Random", name, {"length": length, "result": None})


# Connected (the registration is answered), then stuck for longer than the test allows.
Random("r", 1).result.apply(lambda _: time.sleep(600))
