//! The client side of SCRAM (RFC 5802, with SHA-256 and SHA-512 as RFC 7677 and Kafka's KIP-84
//! name them): the three messages a Kafka SASL/SCRAM login exchanges. The password never
//! leaves this module; only the proof does.

use anyhow::{anyhow, bail, Result};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{KeyInit, Mac};
use sha2::Digest;

/// Kafka's brokers refuse fewer iterations than this (ScramMechanism's minIterations); a
/// server asking for fewer is not one to send a proof to.
const MIN_ITERATIONS: u32 = 4096;

/// SCRAM-SHA-256 or SCRAM-SHA-512.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    Sha256,
    Sha512,
}

impl Mechanism {
    pub fn parse(name: &str) -> Result<Mechanism> {
        match name {
            "SCRAM-SHA-256" => Ok(Mechanism::Sha256),
            "SCRAM-SHA-512" => Ok(Mechanism::Sha512),
            other => bail!("SASL mechanism {other:?} is not SCRAM-SHA-256 or SCRAM-SHA-512"),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Sha256 => "SCRAM-SHA-256",
            Mechanism::Sha512 => "SCRAM-SHA-512",
        }
    }

    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            Mechanism::Sha256 => hmac_with::<hmac::Hmac<sha2::Sha256>>(key, data),
            Mechanism::Sha512 => hmac_with::<hmac::Hmac<sha2::Sha512>>(key, data),
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            Mechanism::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Mechanism::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    /// RFC 5802's Hi(): PBKDF2 with this HMAC and one block.
    fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        let mut first = salt.to_vec();
        first.extend_from_slice(&1u32.to_be_bytes());
        let mut u = self.hmac(password, &first);
        let mut result = u.clone();
        for _ in 1..iterations {
            u = self.hmac(password, &u);
            result.iter_mut().zip(&u).for_each(|(r, x)| *r ^= x);
        }
        result
    }
}

fn hmac_with<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <M as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// RFC 5802 5.1: '=' and ',' in a user name are escaped.
fn sasl_name(user: &str) -> String {
    user.replace('=', "=3D").replace(',', "=2C")
}

/// One login in progress.
pub struct ScramClient {
    mechanism: Mechanism,
    client_first_bare: String,
    nonce: String,
}

/// What the client sends last, and the server signature it must then see.
pub struct ClientFinal {
    pub message: String,
    expected_server_signature: Vec<u8>,
}

impl ScramClient {
    /// The client-first message, with a fresh random nonce.
    pub fn start(mechanism: Mechanism, user: &str) -> Result<(ScramClient, String)> {
        let mut random = [0u8; 24];
        getrandom::fill(&mut random)
            .map_err(|e| anyhow!("no randomness for the SCRAM nonce: {e}"))?;
        Ok(Self::with_nonce(mechanism, user, &BASE64.encode(random)))
    }

    fn with_nonce(mechanism: Mechanism, user: &str, nonce: &str) -> (ScramClient, String) {
        let client_first_bare = format!("n={},r={nonce}", sasl_name(user));
        let first = format!("n,,{client_first_bare}");
        let client = ScramClient {
            mechanism,
            client_first_bare,
            nonce: nonce.to_string(),
        };
        (client, first)
    }

    /// Answers the server-first message with the proof of the password.
    pub fn respond(&self, server_first: &str, password: &str) -> Result<ClientFinal> {
        let field = |key: &str| {
            server_first
                .split(',')
                .find_map(|part| part.strip_prefix(key))
                .ok_or_else(|| anyhow!("the broker's SCRAM challenge has no {key:?} field"))
        };
        if let Some(error) = server_first.strip_prefix("e=") {
            bail!("the broker refused the SCRAM login: {error}");
        }
        let nonce = field("r=")?;
        if !nonce.starts_with(&self.nonce) || nonce.len() == self.nonce.len() {
            bail!(
                "the broker's SCRAM nonce does not extend pipectl's: not a SCRAM server to trust"
            );
        }
        let salt = BASE64
            .decode(field("s=")?)
            .map_err(|_| anyhow!("the broker's SCRAM salt is not base64"))?;
        let iterations: u32 = field("i=")?
            .parse()
            .map_err(|_| anyhow!("the broker's SCRAM iteration count is not a number"))?;
        if iterations < MIN_ITERATIONS {
            bail!("the broker asked for {iterations} SCRAM iterations, below Kafka's minimum {MIN_ITERATIONS}");
        }
        let m = self.mechanism;
        let salted = m.salted_password(password.as_bytes(), &salt, iterations);
        let client_key = m.hmac(&salted, b"Client Key");
        let stored_key = m.hash(&client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let signature = m.hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&signature)
            .map(|(k, s)| k ^ s)
            .collect();
        let server_key = m.hmac(&salted, b"Server Key");
        Ok(ClientFinal {
            message: format!("{without_proof},p={}", BASE64.encode(proof)),
            expected_server_signature: m.hmac(&server_key, auth_message.as_bytes()),
        })
    }
}

impl ClientFinal {
    /// Checks the server-final message: the server proves it knew the password too.
    pub fn verify(&self, server_final: &str) -> Result<()> {
        if let Some(error) = server_final.strip_prefix("e=") {
            bail!("the broker refused the SCRAM login: {error}");
        }
        let signature = server_final
            .strip_prefix("v=")
            .and_then(|v| BASE64.decode(v.split(',').next().unwrap_or(v)).ok())
            .ok_or_else(|| anyhow!("the broker's SCRAM answer has no server signature"))?;
        if signature != self.expected_server_signature {
            bail!("the broker's SCRAM server signature is wrong: it does not know this user's credentials");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677 section 3's SCRAM-SHA-256 example, byte for byte.
    #[test]
    fn the_rfc_7677_example_gives_its_proof_and_server_signature() {
        let (client, first) =
            ScramClient::with_nonce(Mechanism::Sha256, "user", "rOprNGfwEbeRWgbNEkqO");
        assert_eq!(first, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let server_first = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let last = client.respond(server_first, "pencil").unwrap();
        assert_eq!(
            last.message,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        last.verify("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
        assert!(last.verify("v=AAAA").is_err());
    }

    #[test]
    fn a_server_asking_for_few_iterations_or_a_foreign_nonce_is_refused() {
        let (client, _) = ScramClient::with_nonce(Mechanism::Sha512, "admin", "abc");
        assert!(client.respond("r=abcdef,s=c2FsdA==,i=1000", "pw").is_err());
        assert!(client.respond("r=xyz123,s=c2FsdA==,i=4096", "pw").is_err());
        assert_eq!(sasl_name("a=b,c"), "a=3Db=2Cc");
    }
}
