"""sei-bridge: records SP156 (SIGRC) citizen requests and interactions as processos and
documentos in SEI, through SEI's SOAP web service."""

__version__ = "0.1.0"
