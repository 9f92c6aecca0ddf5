// The page's chip models over a list of I2C transactions (tests/web/test_chip_models.py):
// argv[2] is JSON {"ssd1306": [[bytes...]...], "ds3231": [{"at": world seconds, "write":
// [...]} | {"at": s, "read": [reg, n]}]}; prints the SSD1306's GDDRAM and image and the
// DS3231's reads.
import { readFileSync } from "node:fs";
import { SSD1306 } from "../../web/fob/ssd1306.js";
import { DS3231 } from "../../web/fob/ds3231.js";

const spec = JSON.parse(readFileSync(process.argv[2], "utf8"));
const panel = new SSD1306(128, 64);
for (const t of spec.ssd1306) panel.i2cWrite(Uint8Array.from(t));
let now = spec.epoch;
const rtc = new DS3231(() => now);
const reads = [];
for (const step of spec.ds3231) {
  now = step.at;
  if (step.write) rtc.i2cWrite(Uint8Array.from(step.write));
  else {
    rtc.i2cWrite(Uint8Array.from([step.read[0]]));
    reads.push(Array.from(rtc.i2cRead(step.read[1])));
  }
}
process.stdout.write(JSON.stringify({ gddram: Array.from(panel.gddram),
  image: Array.from(panel.image()), reads }));
