"""`mailcast demo`: a delivery's whole lifecycle on embedded defaults, in compressed time."""

from mailcast.demo.run import DemoResult, run_demo

__all__ = ["DemoResult", "run_demo"]
