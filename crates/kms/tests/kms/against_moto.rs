//! The client's calls against moto 5.2: what comes back, and which mistakes KMS refuses.
//!
//! Observed from moto 5.2.5, by hand with curl and here:
//! - the encryption context is enforced: Decrypt under a different, missing or extended context
//!   fails with `InvalidCiphertextException`, as on AWS;
//! - Decrypt with a `KeyId` other than the ciphertext's fails with `AccessDeniedException` (AWS
//!   answers `IncorrectKeyException`);
//! - a flipped bit in the sealed part of the ciphertext gives `InvalidCiphertextException`;
//! - an unknown key id gives `NotFoundException` for DescribeKey, GenerateDataKey and Encrypt;
//! - signatures are not checked unless `INITIAL_NO_AUTH_ACTION_COUNT` is set (see `signatures`).

use meetvault_kms::{EncryptionContext, KmsError};

use crate::{Moto, SECRET_ACCESS_KEY, SESSION_TOKEN, client, context};

fn service_code(error: KmsError) -> String {
    match error {
        KmsError::Service { code, .. } => code,
        other => panic!("expected a KMS service error, got {other:?}"),
    }
}

#[tokio::test]
async fn create_key_then_describe_it() {
    let moto = Moto::shared_or_new();
    let kms = client(&moto);
    let key_id = kms.create_key("meetvault kms test").await.unwrap();
    assert!(!key_id.is_empty());

    let info = kms.describe_key(&key_id).await.unwrap();
    assert_eq!(info.key_id, key_id);
    assert!(info.enabled, "a new key is enabled: {info:?}");
    assert!(
        info.arn.starts_with("arn:aws:kms:us-east-1:")
            && info.arn.ends_with(&format!(":key/{key_id}")),
        "{info:?}"
    );
    // The ARN names the same key.
    assert_eq!(kms.describe_key(&info.arn).await.unwrap(), info);
}

#[tokio::test]
async fn a_data_key_decrypts_to_itself_under_its_context() {
    let moto = Moto::shared_or_new();
    let kms = client(&moto);
    let key_id = kms.create_key("data keys").await.unwrap();
    let arn = kms.describe_key(&key_id).await.unwrap().arn;
    let ctx = context(&[("vault", "v-1"), ("purpose", "meeting-notes")]);

    let data_key = kms.generate_data_key(&key_id, &ctx).await.unwrap();
    assert_eq!(data_key.plaintext.len(), 32);
    assert_ne!(*data_key.plaintext, [0u8; 32]);
    assert_eq!(data_key.key_id, arn, "KMS returns the key's ARN");
    assert!(!data_key.ciphertext.is_empty());
    assert!(
        !data_key
            .ciphertext
            .windows(32)
            .any(|w| w == data_key.plaintext.as_slice()),
        "the ciphertext must not contain the key in the clear"
    );

    let decrypted = kms.decrypt(&data_key.ciphertext, None, &ctx).await.unwrap();
    assert_eq!(decrypted.as_slice(), data_key.plaintext.as_slice());
    let decrypted = kms
        .decrypt(&data_key.ciphertext, Some(&key_id), &ctx)
        .await
        .unwrap();
    assert_eq!(decrypted.as_slice(), data_key.plaintext.as_slice());

    let other = kms.generate_data_key(&key_id, &ctx).await.unwrap();
    assert_ne!(
        *other.plaintext, *data_key.plaintext,
        "each data key is fresh"
    );

    // Debug shows neither the key nor the credentials, in any common spelling of the bytes.
    let debug = format!("{data_key:?} {kms:?}");
    let plaintext: &[u8] = data_key.plaintext.as_slice();
    for leak in [
        hex::encode(plaintext),
        hex::encode_upper(plaintext),
        base64_of(plaintext),
        format!("{plaintext:?}"),
        format!("{:?}", &plaintext[..4])
            .trim_end_matches(']')
            .to_owned(),
        SECRET_ACCESS_KEY.to_owned(),
        SESSION_TOKEN.to_owned(),
    ] {
        assert!(!debug.contains(&leak), "Debug leaks {leak}: {debug}");
    }
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
async fn decrypt_needs_the_same_encryption_context() {
    let moto = Moto::shared_or_new();
    let kms = client(&moto);
    let key_id = kms.create_key("contexts").await.unwrap();
    let ctx = context(&[("vault", "v-1")]);
    let data_key = kms.generate_data_key(&key_id, &ctx).await.unwrap();

    for wrong in [
        context(&[("vault", "v-2")]),
        context(&[("Vault", "v-1")]),
        context(&[("vault", "v-1"), ("extra", "x")]),
        EncryptionContext::new(),
    ] {
        let error = kms
            .decrypt(&data_key.ciphertext, None, &wrong)
            .await
            .unwrap_err();
        let text = error.to_string();
        assert_eq!(
            service_code(error),
            "InvalidCiphertextException",
            "{wrong:?}"
        );
        assert!(
            text.contains("encryption context"),
            "the message says what to check: {text}"
        );
    }
    // And the right one still works afterwards.
    let decrypted = kms.decrypt(&data_key.ciphertext, None, &ctx).await.unwrap();
    assert_eq!(decrypted.as_slice(), data_key.plaintext.as_slice());
}

#[tokio::test]
async fn encrypt_then_decrypt_round_trips() {
    let moto = Moto::shared_or_new();
    let kms = client(&moto);
    let key_id = kms.create_key("encrypt").await.unwrap();
    let plaintext = b"the minutes of the board meeting";

    for ctx in [context(&[("meeting", "m-42")]), EncryptionContext::new()] {
        let ciphertext = kms.encrypt(&key_id, plaintext, &ctx).await.unwrap();
        assert!(
            !ciphertext.windows(plaintext.len()).any(|w| w == plaintext),
            "the ciphertext must not contain the plaintext"
        );
        let decrypted = kms.decrypt(&ciphertext, Some(&key_id), &ctx).await.unwrap();
        assert_eq!(decrypted.as_slice(), plaintext, "{ctx:?}");
    }

    // Every byte value survives the base64 round trip.
    let all_bytes: Vec<u8> = (0..=255).collect();
    let ciphertext = kms
        .encrypt(&key_id, &all_bytes, &EncryptionContext::new())
        .await
        .unwrap();
    let decrypted = kms
        .decrypt(&ciphertext, None, &EncryptionContext::new())
        .await
        .unwrap();
    assert_eq!(decrypted.as_slice(), all_bytes.as_slice());
}

#[tokio::test]
async fn a_corrupted_ciphertext_is_refused() {
    let moto = Moto::shared_or_new();
    let kms = client(&moto);
    let key_id = kms.create_key("corruption").await.unwrap();
    let ctx = context(&[("vault", "v-1")]);
    let mut ciphertext = kms.encrypt(&key_id, b"secret", &ctx).await.unwrap();
    let last = ciphertext.len() - 1;
    ciphertext[last] ^= 0x01;

    let error = kms.decrypt(&ciphertext, None, &ctx).await.unwrap_err();
    assert!(!error.to_string().contains("secret\""), "{error}");
    assert_eq!(service_code(error), "InvalidCiphertextException");
}

#[tokio::test]
async fn decrypt_under_another_key_id_is_refused() {
    let moto = Moto::shared_or_new();
    let kms = client(&moto);
    let key_id = kms.create_key("first").await.unwrap();
    let other_key = kms.create_key("second").await.unwrap();
    let ctx = context(&[("vault", "v-1")]);
    let ciphertext = kms.encrypt(&key_id, b"secret", &ctx).await.unwrap();

    let code = service_code(
        kms.decrypt(&ciphertext, Some(&other_key), &ctx)
            .await
            .unwrap_err(),
    );
    // AWS answers IncorrectKeyException; moto 5.2 answers AccessDeniedException.
    assert!(
        code == "IncorrectKeyException" || code == "AccessDeniedException",
        "{code}"
    );
}

#[tokio::test]
async fn an_unknown_key_is_not_found() {
    let moto = Moto::shared_or_new();
    let kms = client(&moto);
    let unknown = "00000000-0000-4000-8000-000000000000";
    let ctx = context(&[("vault", "v-1")]);

    let error = kms.describe_key(unknown).await.unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("NotFoundException") && text.contains("check the key id"),
        "{text}"
    );
    assert_eq!(service_code(error), "NotFoundException");
    assert_eq!(
        service_code(kms.generate_data_key(unknown, &ctx).await.unwrap_err()),
        "NotFoundException"
    );
    assert_eq!(
        service_code(kms.encrypt(unknown, b"x", &ctx).await.unwrap_err()),
        "NotFoundException"
    );
}
