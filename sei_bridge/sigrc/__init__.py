"""The SIGRC side: feed client, event models and validation.

The SIGRC simulator and the traffic generator are :mod:`sei_bridge.sandboxes.sigrc` and
:mod:`sei_bridge.sandboxes.traffic`.
"""
