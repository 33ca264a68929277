"""Stand-ins for SEI and SIGRC over real HTTP, and tools to rehearse faults against a real SEI."""
