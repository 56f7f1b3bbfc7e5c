//! moto checks SigV4 signatures only when told to (`INITIAL_NO_AUTH_ACTION_COUNT`): the first N
//! requests are let through unchecked, every later one must be signed by an access key moto's IAM
//! issued. Here the three free requests create that user, its policy and its key; then every KMS
//! call must carry a signature moto recomputes and finds equal.

use meetvault_kms::{AwsKms, AwsKmsSettings, KmsError};
use zeroize::Zeroizing;

use crate::{Moto, context};

/// Sends one unauthenticated IAM query action (one of the free ones) and returns the XML answer.
async fn iam(moto: &Moto, params: &[(&str, &str)]) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("Version", "2010-05-08");
    for (k, v) in params {
        form.append_pair(k, v);
    }
    let response = reqwest::Client::new()
        .post(moto.endpoint.clone())
        .header("Content-Type", "application/x-www-form-urlencoded")
        // moto routes by the service named in the credential scope.
        .header(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=bootstrap/20150830/us-east-1/iam/aws4_request, \
             SignedHeaders=host, Signature=00",
        )
        .body(form.finish())
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    assert!(status.is_success(), "IAM {params:?}: {status} {body}");
    body
}

fn xml_value<'a>(xml: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    let start = xml
        .find(&open)
        .unwrap_or_else(|| panic!("no {tag} in {xml}"))
        + open.len();
    let end = start + xml[start..].find('<').unwrap();
    &xml[start..end]
}

#[tokio::test]
async fn moto_accepts_our_signatures_and_rejects_a_wrong_secret() {
    let moto = Moto::start(&[("INITIAL_NO_AUTH_ACTION_COUNT", "3")]);
    iam(&moto, &[("Action", "CreateUser"), ("UserName", "kms-test")]).await;
    iam(
        &moto,
        &[
            ("Action", "PutUserPolicy"),
            ("UserName", "kms-test"),
            ("PolicyName", "kms"),
            (
                "PolicyDocument",
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#,
            ),
        ],
    )
    .await;
    let created = iam(
        &moto,
        &[("Action", "CreateAccessKey"), ("UserName", "kms-test")],
    )
    .await;
    let access_key_id = xml_value(&created, "AccessKeyId").to_owned();
    let secret = xml_value(&created, "SecretAccessKey").to_owned();

    let settings = AwsKmsSettings {
        endpoint: Some(moto.endpoint.clone()),
        region: "us-east-1".to_owned(),
        access_key_id,
        secret_access_key: Zeroizing::new(secret.clone()),
        session_token: None,
    };
    let kms = AwsKms::new(settings.clone()).unwrap();
    let ctx = context(&[("vault", "v-1")]);
    let key_id = kms.create_key("signed").await.unwrap();
    let data_key = kms.generate_data_key(&key_id, &ctx).await.unwrap();
    let decrypted = kms.decrypt(&data_key.ciphertext, None, &ctx).await.unwrap();
    assert_eq!(decrypted.as_slice(), data_key.plaintext.as_slice());

    // One character off in the secret: the signature no longer matches.
    let mut wrong_secret = secret.clone();
    let last = wrong_secret.pop().unwrap();
    wrong_secret.push(if last == 'A' { 'B' } else { 'A' });
    let forged = AwsKms::new(AwsKmsSettings {
        secret_access_key: Zeroizing::new(wrong_secret.clone()),
        ..settings
    })
    .unwrap();
    let error = forged.describe_key(&key_id).await.unwrap_err();
    let text = format!("{error} {error:?}");
    assert!(
        !text.contains(&secret) && !text.contains(&wrong_secret),
        "{text}"
    );
    // moto answers in XML with SignatureDoesNotMatch; AWS KMS in JSON with
    // InvalidSignatureException. Either way the message says to check the credentials.
    assert!(
        matches!(&error, KmsError::Service { code, .. }
            if code == "SignatureDoesNotMatch" || code == "InvalidSignatureException"),
        "{error:?}"
    );
    assert!(
        text.contains("check the access key id, secret access key"),
        "{text}"
    );
}
