// fob.html: the fob on the page, alone.
import { mountFob } from "./fobview.js";

const params = new URLSearchParams(location.search);
window.otpfobFob = mountFob(document.getElementById("fob-section"), {
  keep: params.get("keep") !== "0" && localStorage.getItem("otpfob.pagefob") !== null,
  demo: params.get("demo") !== "0",
});
