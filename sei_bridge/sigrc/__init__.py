"""The SIGRC side: feed client, event models and validation, simulator, traffic generator."""
