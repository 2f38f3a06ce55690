"""A simulated SMP device: MCUboot slot rules, every management group, a link model.

It reuses app/smp for every byte it reads and writes, so it can never agree with the client
by accident. `device.py` is the board (pure, synchronous: frames in, replies out);
`serve.py` puts it behind real endpoints (UDP, serial pty, BLE fake) with the link model.
"""
