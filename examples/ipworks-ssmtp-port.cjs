// An IP*Works S/MIME SSMTP program ported to smtpkit: the require line is the only change
// (docs/porting-ipworks.md shows the original next to it). It signs a message with the
// certificate and private key of a PFX file, encrypts it for the recipient's certificate,
// and sends it.
//
//   node examples/ipworks-ssmtp-port.cjs server port from to signer.pfx password recipient.pem
const ipworkssmime = require("smtpkit");
const fs = require("fs");

const [server, port, from, to, signerPfx, password, recipientCert] = process.argv.slice(2);
if (!recipientCert) {
  console.log("usage: node ipworks-ssmtp-port.cjs server port from to signer.pfx password recipient.pem");
  process.exit(1);
}

const ssmtp = new ipworkssmime.ssmtp();
ssmtp.on("PITrail", (e) => {
  console.log(["C: ", "S: ", "*  "][e.direction] + e.message);
});

async function main() {
  try {
    ssmtp.setMailServer(server);
    ssmtp.setMailPort(Number(port));
    ssmtp.setFrom(from);
    ssmtp.setSendTo(to);
    ssmtp.setSubject("Quarterly figures");
    ssmtp.setMessageText("The figures are ready.\r\nRegards\r\n");

    // The signer: certificate and private key from a PFX file (2 = cstPFXFile), the first one ("*").
    ssmtp.setCertificate(new ipworkssmime.Certificate(2, signerPfx, password, "*"));
    ssmtp.setSigningAlgorithm("SHA256");
    // The recipient: a certificate without its key, given encoded.
    ssmtp.addRecipientCert(new ipworkssmime.Certificate(fs.readFileSync(recipientCert)).getEncodedB());
    ssmtp.setEncryptingAlgorithm("AES256");

    await ssmtp.signAndEncrypt(); // MessageText now holds the S/MIME entity
    await ssmtp.send();
    console.log("Message sent: " + ssmtp.getLastReply());
  } catch (e) {
    console.log("Error " + e.code + ": " + e.message);
    process.exitCode = 1;
  }
}

main();
