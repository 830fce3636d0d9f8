import pulumi
from pulumi import CustomResource


class Random(CustomResource):
    def __init__(self, name, length):
        super().__init__("local:index:Random", name, {"length": length, "result": None})


before = Random("before", 3)
raise ValueError("bad thing happened in the program")
