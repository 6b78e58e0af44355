"""One module per DVC stage, run as `python -m poetry_rnn.stages.<stage>`; each only wires library calls."""
