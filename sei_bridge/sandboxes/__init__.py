"""Stand-ins for the systems sei-bridge talks to, the traffic they carry, and a tool to rehearse
faults against a real SEI.

- :mod:`sei_bridge.sandboxes.sei`: a fake SEI web service (SOAP over real HTTP), faithful to a
  real SEI 4.1.0, with seeded faults (``sei-bridge sandbox sei``);
- :mod:`sei_bridge.sandboxes.sigrc`: a fake SIGRC feed API (JSON over real HTTP), faithful to
  its contract (``sei-bridge sandbox sigrc``);
- :mod:`sei_bridge.sandboxes.traffic`: the seeded SP156 traffic of the Fazenda that the SIGRC
  stand-in serves;
- :mod:`sei_bridge.sandboxes.proxy`: the sandbox's faults in front of any SEI, a real one
  included (``sei-bridge sandbox proxy``).

They are for ``sei-bridge demo``, the ``sandbox`` commands, the tests and the benchmarks. No
production path imports them: the real clients are :mod:`sei_bridge.sei` and
:mod:`sei_bridge.sigrc`.
"""
