"""Fleet: Slotwise as a hawkBit DDI gateway for devices that cannot reach the server.

ddi.py (pure: the DDI JSON, both ways), server.py (profile and HTTP), secrets.py (tokens),
identity.py (controller ids), attributes.py (what the device tells), artifacts.py (choice,
download, cache, hash checks, SWU), feedback.py (the on-disk queue), gateway.py (the flow).
No Qt.
"""
