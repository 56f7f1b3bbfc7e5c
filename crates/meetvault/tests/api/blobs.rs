//! The blob store on both backends (filesystem and the loopback S3 server): a 50 MB object
//! streamed in and out, ranged reads across part boundaries, listing, idempotent deletes, and a
//! failed upload that leaves nothing behind.

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream};
use meetvault_store::{BlobKey, BlobStore, StoreError};
use meetvault_test_support::services;

const PART: usize = 5 * 1024 * 1024;
const SIZE: usize = 50 * 1024 * 1024;

/// Deterministic, incompressible bytes (xorshift), so a misplaced range cannot match by chance.
fn data(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

async fn filesystem() -> (BlobStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (
        BlobStore::filesystem(&dir.path().join("blobs"), PART).unwrap(),
        dir,
    )
}

async fn s3() -> BlobStore {
    let prefix = format!("blobs-{}", uuid_like());
    BlobStore::s3(&services::s3_config(&prefix).await, PART).unwrap()
}

fn uuid_like() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

async fn round_trip_50_mb(store: &BlobStore) {
    let original = Bytes::from(data(SIZE));
    let key = BlobKey::parse("recordings/mtg_1/mixed.enc").unwrap();
    // Streamed in 1 MiB chunks: larger than one part, so this is a multipart upload.
    let chunks: Vec<Result<Bytes, std::io::Error>> = original
        .chunks(1024 * 1024)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let written = store.put_stream(&key, stream::iter(chunks)).await.unwrap();
    assert_eq!(written, SIZE as u64);
    assert_eq!(store.head(&key).await.unwrap().size, SIZE as u64);

    let mut read = Vec::with_capacity(SIZE);
    let mut s = store.get_stream(&key).await.unwrap();
    while let Some(chunk) = s.next().await {
        read.extend_from_slice(&chunk.unwrap());
    }
    assert!(read == original, "the object read back differs");

    let ranges = [
        0..1,
        0..4096,
        (PART as u64 - 100)..(PART as u64 + 100),
        12_345_678..23_456_789,
        (SIZE as u64 - 1)..SIZE as u64,
    ];
    for range in ranges {
        let got = store.get_range(&key, range.clone()).await.unwrap();
        assert!(
            got == original[range.start as usize..range.end as usize],
            "range {range:?}"
        );
        let streamed: Vec<Bytes> = store
            .get_range_stream(&key, range.clone())
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert!(
            streamed.concat() == original[range.start as usize..range.end as usize],
            "streamed range {range:?}"
        );
    }
}

async fn list_delete_and_small_objects(store: &BlobStore) {
    let a = BlobKey::parse("docs/org_1/a.txt").unwrap();
    let b = BlobKey::parse("docs/org_1/b.txt").unwrap();
    let c = BlobKey::parse("docs/org_2/c.txt").unwrap();
    for key in [&a, &b, &c] {
        store
            .put(key, Bytes::from(format!("content of {key}")))
            .await
            .unwrap();
    }
    let small: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(Bytes::from_static(b"small ")),
        Ok(Bytes::from_static(b"stream")),
    ];
    let s = BlobKey::parse("docs/org_1/s.txt").unwrap();
    assert_eq!(store.put_stream(&s, stream::iter(small)).await.unwrap(), 12);

    let listed: Vec<String> = store
        .list("docs/org_1")
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert_eq!(
        listed,
        ["docs/org_1/a.txt", "docs/org_1/b.txt", "docs/org_1/s.txt"]
    );
    assert_eq!(store.list("docs/org_2").await.unwrap().len(), 1);

    store.delete(&a).await.unwrap();
    store.delete(&a).await.unwrap(); // deleting again is fine: retries are safe
    assert!(matches!(
        store.get_stream(&a).await,
        Err(StoreError::BlobNotFound(_))
    ));
    assert!(matches!(
        store.get_range(&a, 0..1).await,
        Err(StoreError::BlobNotFound(_))
    ));
    assert_eq!(&store.get_range(&s, 0..5).await.unwrap()[..], b"small");
}

async fn failed_upload_leaves_nothing(store: &BlobStore) {
    let key = BlobKey::parse("uploads/broken.bin").unwrap();
    let chunk = Bytes::from(data(1024 * 1024));
    let parts =
        (0..8)
            .map(|_| Ok(chunk.clone()))
            .chain(std::iter::once(Err(std::io::Error::other(
                "client went away",
            ))));
    let err = store
        .put_stream(&key, stream::iter(parts))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Io { .. }), "{err:?}");
    assert!(matches!(
        store.head(&key).await,
        Err(StoreError::BlobNotFound(_))
    ));
    assert!(store.list("uploads").await.unwrap().is_empty());
}

#[tokio::test]
async fn filesystem_round_trips_50_mb_with_ranged_reads() {
    let (store, _dir) = filesystem().await;
    round_trip_50_mb(&store).await;
}

#[tokio::test]
async fn s3_round_trips_50_mb_with_ranged_reads() {
    round_trip_50_mb(&s3().await).await;
}

#[tokio::test]
async fn filesystem_lists_deletes_and_stores_small_objects() {
    let (store, _dir) = filesystem().await;
    list_delete_and_small_objects(&store).await;
    failed_upload_leaves_nothing(&store).await;
}

#[tokio::test]
async fn s3_lists_deletes_and_stores_small_objects() {
    let store = s3().await;
    list_delete_and_small_objects(&store).await;
    failed_upload_leaves_nothing(&store).await;
}

#[test]
fn blob_files_are_private_to_the_owner() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("blobs");
    let _store = BlobStore::filesystem(&root, PART).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&root).unwrap().permissions().mode() & 0o777,
        0o700
    );
}
