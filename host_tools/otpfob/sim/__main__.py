from otpfob.sim.command import sim

sim(prog_name="otpfob sim")
