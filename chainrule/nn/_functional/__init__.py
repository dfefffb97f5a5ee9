"""The families behind ``chainrule.nn.functional`` (activations, linear maps, losses), each
composed from chainrule's primitives: they carry no derivative code of their own."""
