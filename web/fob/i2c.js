// The page's I2C bus: devices by 7-bit address, each with i2cWrite(bytes, stop) and
// i2cRead(n) (the same shape as otpfob.sim.i2c.Bus in the Python simulator). An address
// nobody answers fails with errno 19 (ENODEV), as CircuitPython's busio does on a NACK.

export const ENODEV = 19;

export class I2CError extends Error {
  constructor(errno) {
    super("I2C error " + errno);
    this.errno = errno;
  }
}

export class Bus {
  constructor() {
    this.devices = new Map();
    // Addresses that stop acknowledging (a loose wire), for the page's fault switches.
    this.faults = new Set();
  }

  attach(address, device) {
    if (this.devices.has(address)) throw new Error("I2C address taken: " + address);
    this.devices.set(address, device);
    return device;
  }

  device(address) {
    const dev = this.devices.get(address);
    if (!dev || this.faults.has(address)) throw new I2CError(ENODEV);
    return dev;
  }

  write(address, data) {
    this.device(address).i2cWrite(data, true);
  }

  read(address, n) {
    return this.device(address).i2cRead(n);
  }

  writeThenRead(address, data, n) {
    const dev = this.device(address);
    dev.i2cWrite(data, false);
    return dev.i2cRead(n);
  }
}
