"""The SEI side: SOAP client on zeep, fault classification, HTML rendering, sandbox server."""
