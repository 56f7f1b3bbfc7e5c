//! Argon2id hashing and verification on threads of their own at a lower CPU priority, bounded
//! by a semaphore, with a dummy hash so unknown accounts cost the same as wrong passwords.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use rand::RngCore as _;
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

use super::NewPassword;

/// The niceness of the hashing threads (Linux, per thread): under a login storm the scheduler
/// gives a thread serving any other request about 68 times a hashing thread's share of a core,
/// so a flood of password attempts slows logins, not the API (bench/run.sh measures it).
pub const HASH_NICENESS: i32 = 19;

const SALT_BYTES: usize = 16;
const OUTPUT_BYTES: usize = 32;

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Argon2Params {
    /// The OWASP Password Storage Cheat Sheet minimum for Argon2id: 19 MiB, 2 passes, 1 lane.
    pub const OWASP: Self = Self {
        memory_kib: 19456,
        iterations: 2,
        parallelism: 1,
    };

    /// Refuses configurations weaker than `OWASP` in memory or passes, and values argon2
    /// itself rejects. `PasswordHasher::new` deliberately does not call this, so tests can
    /// use cheap parameters; configuration loading must.
    pub fn validate(&self) -> Result<(), String> {
        let owasp = Self::OWASP;
        if self.memory_kib < owasp.memory_kib {
            return Err(format!(
                "argon2 memory_kib {} is below the OWASP minimum of {}",
                self.memory_kib, owasp.memory_kib
            ));
        }
        if self.iterations < owasp.iterations {
            return Err(format!(
                "argon2 iterations {} is below the OWASP minimum of {}",
                self.iterations, owasp.iterations
            ));
        }
        if self.parallelism < 1 {
            return Err("argon2 parallelism must be at least 1".to_owned());
        }
        self.to_argon2().map(|_| ()).map_err(|e| e.to_string())
    }

    fn to_argon2(self) -> Result<Params, HashError> {
        Params::new(
            self.memory_kib,
            self.iterations,
            self.parallelism,
            Some(OUTPUT_BYTES),
        )
        .map_err(|e| HashError::Params(e.to_string()))
    }

    /// True when a stored hash made with `stored` should be redone with `self`.
    fn is_stronger_than(&self, stored: &Params) -> bool {
        stored.m_cost() < self.memory_kib
            || stored.t_cost() < self.iterations
            || stored.p_cost() < self.parallelism
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("invalid argon2 parameters: {0}")]
    Params(String),
    #[error("stored password hash is not a valid PHC string: {0}")]
    MalformedHash(String),
    #[error("argon2 failed: {0}")]
    Argon2(String),
    #[error("password hashing panicked")]
    Panicked,
    #[error("password hashing semaphore closed")]
    Closed,
}

/// Result of checking a password. `needs_rehash` is only ever true together with `ok`,
/// because re-hashing needs the plaintext the user just proved they know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verification {
    pub ok: bool,
    pub needs_rehash: bool,
}

/// Argon2id hashing on `max_concurrent` threads of its own (at [`HASH_NICENESS`]) behind a
/// semaphore of as many permits, so a login storm queues instead of starving the runtime or
/// exhausting memory (each hash holds `memory_kib` for its duration). Cheap to clone; the
/// threads end when the last clone is dropped.
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    params: Argon2Params,
    argon2: Argon2<'static>,
    permits: Arc<Semaphore>,
    /// Work for the hashing threads (at most `max_concurrent` queued: the permits bound it).
    jobs: mpsc::Sender<Job>,
    max_concurrent: usize,
    dummy_hash: String,
    dummy_verifications: AtomicU64,
    in_flight: AtomicUsize,
    in_flight_peak: AtomicUsize,
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.inner.params)
            .field("max_concurrent", &self.inner.max_concurrent)
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    pub fn new(params: Argon2Params, max_concurrent: usize) -> Result<Self, HashError> {
        if max_concurrent == 0 {
            return Err(HashError::Params(
                "max_concurrent must be at least 1".to_owned(),
            ));
        }
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.to_argon2()?);
        let dummy_hash = dummy_phc(params);
        // Parse once here so a bad dummy is a construction error, not a login-time one.
        PasswordHash::new(&dummy_hash).map_err(|e| HashError::MalformedHash(e.to_string()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                params,
                argon2,
                permits: Arc::new(Semaphore::new(max_concurrent)),
                jobs: hashing_threads(max_concurrent)?,
                max_concurrent,
                dummy_hash,
                dummy_verifications: AtomicU64::new(0),
                in_flight: AtomicUsize::new(0),
                in_flight_peak: AtomicUsize::new(0),
            }),
        })
    }

    pub fn params(&self) -> Argon2Params {
        self.inner.params
    }

    /// Hashes a policy-checked password into a PHC string with a random 16-byte salt.
    pub async fn hash(&self, password: &NewPassword) -> Result<String, HashError> {
        self.hash_str(password.expose()).await
    }

    /// Re-hashes a password that was just verified (`needs_rehash`) under the current
    /// parameters. The policy is not re-applied: it is the user's existing password.
    pub async fn rehash(&self, verified: &str) -> Result<String, HashError> {
        self.hash_str(verified).await
    }

    async fn hash_str(&self, password: &str) -> Result<String, HashError> {
        let plaintext = Zeroizing::new(password.to_owned());
        self.run_blocking(move |inner| {
            let mut salt = [0u8; SALT_BYTES];
            rand::rng().fill_bytes(&mut salt);
            let salt =
                SaltString::encode_b64(&salt).map_err(|e| HashError::Argon2(e.to_string()))?;
            inner
                .argon2
                .hash_password(plaintext.as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|e| HashError::Argon2(e.to_string()))
        })
        .await
    }

    /// Verifies `candidate` against a stored PHC string. With `stored == None` (unknown
    /// account) it verifies against the dummy hash made at construction with the same
    /// parameters, so an unknown email costs exactly one Argon2id run, then reports
    /// `ok: false`. The output comparison inside argon2 is constant-time.
    pub async fn verify(
        &self,
        candidate: &str,
        stored: Option<&str>,
    ) -> Result<Verification, HashError> {
        let candidate = Zeroizing::new(candidate.to_owned());
        let stored = stored.map(str::to_owned);
        self.run_blocking(move |inner| {
            let (phc, is_dummy) = match &stored {
                Some(phc) => (phc.as_str(), false),
                None => {
                    inner.dummy_verifications.fetch_add(1, Ordering::Relaxed);
                    (inner.dummy_hash.as_str(), true)
                }
            };
            let hash =
                PasswordHash::new(phc).map_err(|e| HashError::MalformedHash(e.to_string()))?;
            let stored_params =
                Params::try_from(&hash).map_err(|e| HashError::MalformedHash(e.to_string()))?;
            let matched = match inner.argon2.verify_password(candidate.as_bytes(), &hash) {
                Ok(()) => !is_dummy,
                Err(argon2::password_hash::Error::Password) => false,
                Err(e) => return Err(HashError::Argon2(e.to_string())),
            };
            let weaker = hash.algorithm != Algorithm::Argon2id.ident()
                || hash.version != Some(Version::V0x13.into())
                || inner.params.is_stronger_than(&stored_params);
            Ok(Verification {
                ok: matched,
                needs_rehash: matched && weaker,
            })
        })
        .await
    }

    /// How many verifications ran against the dummy hash (unknown accounts).
    pub fn dummy_verifications(&self) -> u64 {
        self.inner.dummy_verifications.load(Ordering::Relaxed)
    }

    /// Argon2 runs executing right now.
    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::Relaxed)
    }

    /// The most Argon2 runs ever executing at once; never above `max_concurrent`.
    pub fn in_flight_peak(&self) -> usize {
        self.inner.in_flight_peak.load(Ordering::Relaxed)
    }

    async fn run_blocking<T, F>(&self, work: F) -> Result<T, HashError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T, HashError> + Send + 'static,
    {
        let permit = Arc::clone(&self.inner.permits)
            .acquire_owned()
            .await
            .map_err(|_| HashError::Closed)?;
        let inner = Arc::clone(&self.inner);
        let (answer, answered) = tokio::sync::oneshot::channel();
        // The permit moves into the job: if the caller's future is dropped, the Argon2 run
        // still holds its slot until it really ends.
        self.inner
            .jobs
            .send(Box::new(move || {
                let result = {
                    let _permit = permit;
                    let _counted = InFlight::enter(&inner);
                    work(&inner)
                };
                let _ = answer.send(result);
            }))
            .map_err(|_| HashError::Closed)?;
        answered.await.map_err(|_| HashError::Panicked)?
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// Starts `count` hashing threads at [`HASH_NICENESS`] taking jobs from one queue; they end
/// once its sender is dropped. A job that panics ends only itself (its caller gets
/// `Panicked`).
fn hashing_threads(count: usize) -> Result<mpsc::Sender<Job>, HashError> {
    let (jobs, queue) = mpsc::channel::<Job>();
    let queue = Arc::new(Mutex::new(queue));
    for n in 0..count {
        let queue = Arc::clone(&queue);
        std::thread::Builder::new()
            .name(format!("argon2-{n}"))
            .spawn(move || {
                // Best effort: where niceness cannot be raised the threads still run, at the
                // runtime's priority.
                let _ = rustix::process::setpriority_process(None, HASH_NICENESS);
                loop {
                    let job = match queue.lock() {
                        Ok(queue) => queue.recv(),
                        Err(_) => return,
                    };
                    let Ok(job) = job else { return };
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                }
            })
            .map_err(|e| HashError::Argon2(format!("no hashing thread: {e}")))?;
    }
    Ok(jobs)
}

/// Counts a running Argon2 computation; decrements on drop so a panic cannot leak a count.
struct InFlight<'a>(&'a Inner);

impl<'a> InFlight<'a> {
    fn enter(inner: &'a Inner) -> Self {
        let now = inner.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        inner.in_flight_peak.fetch_max(now, Ordering::SeqCst);
        Self(inner)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A PHC string with the hasher's parameters, a random salt and a random output. Verifying
/// against it costs exactly what verifying a real hash costs (argon2 recomputes the output
/// from the parameters and salt), without spending a hash at startup; no password can
/// match it in practice, and a match is discarded anyway.
fn dummy_phc(params: Argon2Params) -> String {
    let mut salt = [0u8; SALT_BYTES];
    let mut output = [0u8; OUTPUT_BYTES];
    let mut rng = rand::rng();
    rng.fill_bytes(&mut salt);
    rng.fill_bytes(&mut output);
    format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.memory_kib,
        params.iterations,
        params.parallelism,
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(output)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap enough for debug builds; the OWASP parameters are covered by their own test.
    const CHEAP: Argon2Params = Argon2Params {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
    };

    fn new_password(s: &str) -> NewPassword {
        NewPassword::parse(s.to_owned()).unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn owasp_parameters_hash_and_verify() {
        let hasher = PasswordHasher::new(Argon2Params::OWASP, 2).unwrap();
        let phc = hasher.hash(&new_password("kq8#vLm2pX9z")).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        // 16-byte salt is 22 base64 characters.
        let salt = phc.split('$').nth(4).unwrap();
        assert_eq!(salt.len(), 22);

        let right = hasher.verify("kq8#vLm2pX9z", Some(&phc)).await.unwrap();
        assert_eq!(
            right,
            Verification {
                ok: true,
                needs_rehash: false
            }
        );
        let wrong = hasher.verify("kq8#vLm2pX9Z", Some(&phc)).await.unwrap();
        assert!(!wrong.ok);
        assert!(!wrong.needs_rehash);
    }

    #[tokio::test]
    async fn unknown_account_runs_a_real_verification_and_fails() {
        let hasher = PasswordHasher::new(CHEAP, 1).unwrap();
        assert_eq!(hasher.dummy_verifications(), 0);
        let v = hasher.verify("kq8#vLm2pX9z", None).await.unwrap();
        assert!(!v.ok);
        assert!(!v.needs_rehash);
        assert_eq!(hasher.dummy_verifications(), 1);
        assert_eq!(hasher.in_flight_peak(), 1, "argon2 ran for the dummy");
        hasher.verify("", None).await.unwrap();
        assert_eq!(hasher.dummy_verifications(), 2);
        assert!(
            hasher
                .inner
                .dummy_hash
                .starts_with("$argon2id$v=19$m=1024,t=1,p=1$")
        );
    }

    #[tokio::test]
    async fn weaker_stored_hash_needs_rehash() {
        let old = PasswordHasher::new(
            Argon2Params {
                memory_kib: 8192,
                iterations: 1,
                parallelism: 1,
            },
            1,
        )
        .unwrap();
        let phc = old.hash(&new_password("kq8#vLm2pX9z")).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=8192,t=1,p=1$"));

        // Verification uses the stored hash's parameters, so this stays cheap.
        let current = PasswordHasher::new(Argon2Params::OWASP, 1).unwrap();
        let v = current.verify("kq8#vLm2pX9z", Some(&phc)).await.unwrap();
        assert_eq!(
            v,
            Verification {
                ok: true,
                needs_rehash: true
            }
        );
        let wrong = current.verify("nope-nope-nope", Some(&phc)).await.unwrap();
        assert_eq!(
            wrong,
            Verification {
                ok: false,
                needs_rehash: false
            }
        );
        // Against its own parameters the same hash is current.
        let same = old.verify("kq8#vLm2pX9z", Some(&phc)).await.unwrap();
        assert!(same.ok && !same.needs_rehash);
    }

    #[tokio::test]
    async fn argon2i_hash_verifies_but_needs_rehash() {
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            CHEAP.to_argon2().unwrap(),
        );
        let salt = SaltString::encode_b64(&[7u8; SALT_BYTES]).unwrap();
        let phc = argon2i
            .hash_password(b"kq8#vLm2pX9z", &salt)
            .unwrap()
            .to_string();
        assert!(phc.starts_with("$argon2i$"));
        let hasher = PasswordHasher::new(CHEAP, 1).unwrap();
        let v = hasher.verify("kq8#vLm2pX9z", Some(&phc)).await.unwrap();
        assert!(v.ok && v.needs_rehash);
    }

    #[tokio::test]
    async fn long_multibyte_password_is_not_truncated() {
        let hasher = PasswordHasher::new(CHEAP, 2).unwrap();
        let long: String = "é日ü🔑ñç".chars().cycle().take(1024).collect();
        let phc = hasher.hash(&new_password(&long)).await.unwrap();
        assert!(hasher.verify(&long, Some(&phc)).await.unwrap().ok);

        let mut last_differs: String = long.chars().take(1023).collect();
        last_differs.push('x');
        assert_eq!(last_differs.chars().count(), 1024);
        assert!(!hasher.verify(&last_differs, Some(&phc)).await.unwrap().ok);
    }

    #[tokio::test]
    async fn malformed_stored_hash_is_an_error() {
        let hasher = PasswordHasher::new(CHEAP, 1).unwrap();
        for bad in ["", "plaintext", "$argon2id$v=19$m=abc$xx$yy"] {
            let err = hasher.verify("kq8#vLm2pX9z", Some(bad)).await.unwrap_err();
            assert!(matches!(err, HashError::MalformedHash(_)), "{bad}: {err}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn semaphore_caps_concurrent_hashes() {
        let hasher = PasswordHasher::new(
            Argon2Params {
                memory_kib: 4096,
                iterations: 1,
                parallelism: 1,
            },
            1,
        )
        .unwrap();
        let password = Arc::new(new_password("kq8#vLm2pX9z"));
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let hasher = hasher.clone();
                let password = Arc::clone(&password);
                tokio::spawn(async move { hasher.hash(&password).await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(hasher.in_flight_peak(), 1);
        assert_eq!(hasher.in_flight(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn more_permits_allow_parallel_hashes() {
        // Counterpart of the cap test: shows the peak counter can rise above 1, so a cap of
        // 1 observed above is the semaphore's doing.
        let hasher = PasswordHasher::new(
            Argon2Params {
                memory_kib: 8192,
                iterations: 2,
                parallelism: 1,
            },
            4,
        )
        .unwrap();
        let password = Arc::new(new_password("kq8#vLm2pX9z"));
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let hasher = hasher.clone();
                let password = Arc::clone(&password);
                tokio::spawn(async move { hasher.hash(&password).await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert!(hasher.in_flight_peak() > 1);
        assert!(hasher.in_flight_peak() <= 4);
    }

    #[test]
    fn validate_rejects_parameters_below_owasp() {
        assert!(Argon2Params::OWASP.validate().is_ok());
        assert!(
            Argon2Params {
                memory_kib: 65536,
                iterations: 3,
                parallelism: 4
            }
            .validate()
            .is_ok()
        );
        for weak in [
            Argon2Params {
                memory_kib: 19455,
                ..Argon2Params::OWASP
            },
            Argon2Params {
                iterations: 1,
                ..Argon2Params::OWASP
            },
            Argon2Params {
                parallelism: 0,
                ..Argon2Params::OWASP
            },
        ] {
            assert!(weak.validate().is_err(), "{weak:?}");
        }
        assert!(PasswordHasher::new(CHEAP, 0).is_err());
    }

    /// Hashing runs on its own threads, niced, whatever thread asked; a job that panics
    /// answers `Panicked` and the threads go on.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hashing_runs_niced_and_survives_a_panic() {
        let hasher = PasswordHasher::new(CHEAP, 2).unwrap();
        let runtime = rustix::process::getpriority_process(None).unwrap();
        for _ in 0..4 {
            let (name, nice) = hasher
                .run_blocking(|_| {
                    Ok((
                        std::thread::current().name().map(str::to_owned),
                        rustix::process::getpriority_process(None).unwrap(),
                    ))
                })
                .await
                .unwrap();
            assert!(name.unwrap().starts_with("argon2-"));
            assert_eq!(nice, HASH_NICENESS.max(runtime));
        }
        assert_eq!(rustix::process::getpriority_process(None).unwrap(), runtime);
        let panicked = hasher
            .run_blocking::<(), _>(|_| panic!("a job that panics"))
            .await;
        assert!(matches!(panicked, Err(HashError::Panicked)), "{panicked:?}");
        let phc = hasher.hash(&new_password("kq8#vLm2pX9z")).await.unwrap();
        assert!(hasher.verify("kq8#vLm2pX9z", Some(&phc)).await.unwrap().ok);
        assert_eq!(hasher.in_flight(), 0);
    }
}
