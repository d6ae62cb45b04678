//! The server side of SCRAM (RFC 5802), as Kafka's ScramSaslServer runs it: the double keeps
//! only the salted keys (StoredKey, ServerKey), checks the client's proof, and proves in turn
//! that it knows the password. Written from the RFC, separately from pipectl's client.

use anyhow::{anyhow, bail, Result};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{KeyInit, Mac};
use sha2::Digest;

const ITERATIONS: u32 = 4096;

#[derive(Clone, Copy)]
pub enum Mechanism {
    Sha256,
    Sha512,
}

impl Mechanism {
    pub fn parse(name: &str) -> Option<Mechanism> {
        match name {
            "SCRAM-SHA-256" => Some(Mechanism::Sha256),
            "SCRAM-SHA-512" => Some(Mechanism::Sha512),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Sha256 => "SCRAM-SHA-256",
            Mechanism::Sha512 => "SCRAM-SHA-512",
        }
    }

    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        fn with<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
            let mut mac = <M as KeyInit>::new_from_slice(key).expect("HMAC takes any key");
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        match self {
            Mechanism::Sha256 => with::<hmac::Hmac<sha2::Sha256>>(key, data),
            Mechanism::Sha512 => with::<hmac::Hmac<sha2::Sha512>>(key, data),
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            Mechanism::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Mechanism::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    /// Hi(password, salt, i) of RFC 5802 section 2.2.
    fn hi(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        let mut block = salt.to_vec();
        block.extend_from_slice(&[0, 0, 0, 1]);
        let mut previous = self.hmac(password, &block);
        let mut out = previous.clone();
        for _ in 1..iterations {
            previous = self.hmac(password, &previous);
            for (o, p) in out.iter_mut().zip(&previous) {
                *o ^= p;
            }
        }
        out
    }
}

/// One user, as a broker stores it per mechanism (the password itself is not kept).
pub struct Credentials {
    user: String,
    salt: Vec<u8>,
    keys: [(Vec<u8>, Vec<u8>); 2],
}

impl Credentials {
    /// The principal a login as this user acts as (Kafka's `User:NAME`).
    pub fn principal(&self) -> String {
        format!("User:{}", self.user)
    }

    pub fn new(user: &str, password: &str) -> Credentials {
        let salt = b"pipectl-kafka-double-salt".to_vec();
        let keys = [Mechanism::Sha256, Mechanism::Sha512].map(|m| {
            let salted = m.hi(password.as_bytes(), &salt, ITERATIONS);
            (
                m.hash(&m.hmac(&salted, b"Client Key")),
                m.hmac(&salted, b"Server Key"),
            )
        });
        Credentials {
            user: user.to_string(),
            salt,
            keys,
        }
    }

    /// Takes the client-first message; answers with the server-first message.
    pub fn first(&self, mechanism: Mechanism, client_first: &str) -> Result<(Exchange, String)> {
        let bare = client_first
            .strip_prefix("n,,")
            .ok_or_else(|| anyhow!("no channel binding header"))?;
        let mut user = None;
        let mut nonce = None;
        for part in bare.split(',') {
            if let Some(u) = part.strip_prefix("n=") {
                user = Some(u.replace("=2C", ",").replace("=3D", "="));
            } else if let Some(r) = part.strip_prefix("r=") {
                nonce = Some(r.to_string());
            }
        }
        let (Some(user), Some(client_nonce)) = (user, nonce) else {
            bail!("client-first message without user or nonce");
        };
        if user != self.user {
            bail!("unknown user");
        }
        let mut random = [0u8; 18];
        getrandom::fill(&mut random).map_err(|e| anyhow!("{e}"))?;
        let nonce = format!("{client_nonce}{}", BASE64.encode(random));
        let server_first = format!("r={nonce},s={},i={ITERATIONS}", BASE64.encode(&self.salt));
        let (stored_key, server_key) = match mechanism {
            Mechanism::Sha256 => self.keys[0].clone(),
            Mechanism::Sha512 => self.keys[1].clone(),
        };
        let exchange = Exchange {
            mechanism,
            auth_prefix: format!("{bare},{server_first}"),
            nonce,
            stored_key,
            server_key,
        };
        Ok((exchange, server_first))
    }
}

/// A login between the server-first and the client-final message.
pub struct Exchange {
    mechanism: Mechanism,
    auth_prefix: String,
    nonce: String,
    stored_key: Vec<u8>,
    server_key: Vec<u8>,
}

impl Exchange {
    pub fn mechanism_name(&self) -> &'static str {
        self.mechanism.name()
    }

    /// Checks the client's proof; answers with the server signature.
    pub fn finish(&self, client_final: &str) -> Result<String> {
        let (without_proof, proof) = client_final
            .rsplit_once(",p=")
            .ok_or_else(|| anyhow!("client-final message without proof"))?;
        if without_proof != format!("c=biws,r={}", self.nonce) {
            bail!("wrong channel binding or nonce");
        }
        let proof = BASE64
            .decode(proof)
            .map_err(|_| anyhow!("proof is not base64"))?;
        let auth_message = format!("{},{without_proof}", self.auth_prefix);
        let m = self.mechanism;
        let signature = m.hmac(&self.stored_key, auth_message.as_bytes());
        if proof.len() != signature.len() {
            bail!("proof of the wrong length");
        }
        let client_key: Vec<u8> = proof.iter().zip(&signature).map(|(p, s)| p ^ s).collect();
        if m.hash(&client_key) != self.stored_key {
            bail!("wrong password");
        }
        Ok(format!(
            "v={}",
            BASE64.encode(m.hmac(&self.server_key, auth_message.as_bytes()))
        ))
    }
}
