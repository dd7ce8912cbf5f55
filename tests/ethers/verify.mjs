// Prints the address ethers.js recovers from an EIP-191 signature over the 32 raw bytes of an
// object ID: input is JSON {"id_hex": "0x..", "signature_hex": "0x.."} as argv[2] or on stdin.
// Used by tests/unit/test_wire_ethers.c to cross-check lilypad's signer with an independent one.
import { getBytes, verifyMessage } from "ethers";
import { readFileSync } from "node:fs";

const text = process.argv[2] ?? readFileSync(0, "utf8");
const { id_hex: idHex, signature_hex: sigHex } = JSON.parse(text);
const id = getBytes(idHex);
if (id.length !== 32) {
  console.error(`verify.mjs: id_hex must be 32 bytes, got ${id.length}`);
  process.exit(2);
}
console.log(verifyMessage(id, sigHex));
