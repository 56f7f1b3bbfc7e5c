//! A bot's mixed recording streams into the customer's bucket while it records (moto on
//! loopback), built by the rule the recording is built by at the end: a late joiner is heard
//! when they joined, a participant who left holds nobody back, and the parts sent are the
//! file's own bytes (the upload completes; it is not re-sent whole). A participant who opts
//! out has the mix aborted, and it starts again without them.

use serde_json::{Value, json};
use sha2::Digest as _;

use crate::bot_reports::send_events;
use crate::destinations_stream::{
    CHUNK_SECS, Meeting, PART, bucket_name, moto_destination, object, pcm, reader, recording_bot,
    uploads_in_progress,
};

/// A track of the meeting: its key, its seed and the chunks it sends.
struct Voice {
    track: &'static str,
    seed: u32,
    seqs: std::ops::Range<i64>,
}

/// Sends every voice's chunks as a meeting would: second by second, all voices at once.
async fn speak(m: &Meeting, voices: &[Voice], seqs: std::ops::Range<i64>) {
    for seq in seqs {
        for v in voices.iter().filter(|v| v.seqs.contains(&seq)) {
            m.send(&m.app, v.track, v.seed, seq..seq + 1, 0).await;
        }
    }
}

/// The mix the test expects, computed here: every chunk at `seq * 5 s`, summed, saturated.
fn expected_mix(voices: &[Voice]) -> Vec<u8> {
    let per_chunk = 16_000 * CHUNK_SECS as usize;
    let len = voices.iter().map(|v| v.seqs.end as usize).max().unwrap() * per_chunk;
    let mut sum = vec![0i32; len];
    for v in voices {
        for seq in v.seqs.clone() {
            let at = seq as usize * per_chunk;
            for (i, s) in pcm(v.seed, seq).chunks_exact(2).enumerate() {
                sum[at + i] += i32::from(i16::from_le_bytes([s[0], s[1]]));
            }
        }
    }
    sum.into_iter()
        .flat_map(|v| (v.clamp(-32768, 32767) as i16).to_le_bytes())
        .collect()
}

fn mixed_file(files: &[Value], key: &str) -> Value {
    files
        .iter()
        .find(|f| f["key"] == key)
        .unwrap_or_else(|| panic!("no file at {key}: {files:#?}"))
        .clone()
}

#[tokio::test]
async fn the_mix_streams_while_the_bot_records_with_a_late_joiner_and_one_who_left() {
    let bucket = bucket_name();
    let dest = moto_destination(&bucket).await;
    let endpoint = dest["endpoint"].as_str().unwrap().to_owned();
    let extra = json!({"recording": {"per_speaker": true, "mixed": true, "keep_local_copy": true}});
    let (m, _) = recording_bot(dest, extra).await;
    let voices = [
        Voice {
            track: "1-0-1",
            seed: 11,
            seqs: 0..76,
        },
        // Joins a minute in.
        Voice {
            track: "1-0-2",
            seed: 12,
            seqs: 12..76,
        },
        // Leaves after 50 s: the mix does not wait for them.
        Voice {
            track: "1-0-3",
            seed: 13,
            seqs: 0..10,
        },
    ];
    speak(&m, &voices, 0..76).await;
    // 380 s recorded; the mix is settled to 350 s (11.2 MB of WAV): part 2 has left.
    let up = m.upload_when("*mixed", |u| u["parts"] == 1).await;
    assert_eq!(up["state"], "open");
    assert_eq!(up["bytes_sent"], PART);
    assert!(up["error"].is_null(), "{up}");
    let key = up["key"].as_str().unwrap().to_owned();
    assert!(key.ends_with(".wav"), "{key}");
    assert!(uploads_in_progress(&endpoint, &bucket).await.contains(&key));

    let files = m.end().await;
    assert_eq!(files.len(), 4, "three speakers and the mix: {files:#?}");
    let file = mixed_file(&files, &key);
    let store = reader(&bucket, &endpoint);
    let stored = object(&store, &key).await.unwrap();
    assert_eq!(file["sha256"], hex::encode(sha2::Sha256::digest(&stored)));
    let rid = file["recording_id"].as_str().unwrap();
    let recording = m.recording(rid).await;
    assert!(
        stored == recording,
        "the bucket holds other bytes than {rid}"
    );
    assert!(
        recording[44..] == expected_mix(&voices)[..],
        "the mixed recording is not every voice at its own time"
    );
    // The part sent while recording was the file's own: the upload completed with it.
    let up = m.upload_when("*mixed", |u| u["state"] != "open").await;
    assert_eq!(up["state"], "completed", "{up}");
    assert_eq!(up["parts"], 1);
    assert!(uploads_in_progress(&endpoint, &bucket).await.is_empty());
}

#[tokio::test]
async fn a_participant_who_opts_out_has_the_mix_aborted_and_started_again_without_them() {
    let bucket = bucket_name();
    let dest = moto_destination(&bucket).await;
    let endpoint = dest["endpoint"].as_str().unwrap().to_owned();
    let extra =
        json!({"recording": {"per_speaker": false, "mixed": true, "keep_local_copy": true}});
    let (m, _) = recording_bot(dest, extra).await;
    send_events(
        &m.app,
        &m.token,
        &m.id,
        &[
            json!({"type": "participant_joined", "id": "p1", "name": "Alice Stays"}),
            json!({"type": "participant_joined", "id": "p2", "name": "Bob Optout"}),
            json!({"type": "track_mapped", "track": "1-0-1", "participant_id": "p1"}),
            json!({"type": "track_mapped", "track": "1-0-2", "participant_id": "p2"}),
        ],
    )
    .await;
    let both = [
        Voice {
            track: "1-0-1",
            seed: 21,
            seqs: 0..76,
        },
        Voice {
            track: "1-0-2",
            seed: 22,
            seqs: 0..76,
        },
    ];
    speak(&m, &both, 0..76).await;
    let first = m.upload_when("*mixed", |u| u["parts"] == 1).await;
    let first_key = first["key"].as_str().unwrap().to_owned();

    // Bob opts out: the mix holds his voice, so its upload is aborted at once.
    send_events(
        &m.app,
        &m.token,
        &m.id,
        &[json!({"type": "participant_opted_out", "participant_id": "p2"})],
    )
    .await;
    m.upload_when("*mixed", |u| u["state"] == "aborted").await;
    assert!(
        !uploads_in_progress(&endpoint, &bucket)
            .await
            .contains(&first_key),
        "the mix with Bob in it is still in the bucket"
    );

    // Alice talks on: the mix starts again, from the beginning, without Bob.
    let alice = [Voice {
        track: "1-0-1",
        seed: 21,
        seqs: 0..80,
    }];
    speak(&m, &alice, 76..80).await;
    let second = m
        .upload_when("*mixed", |u| u["state"] == "open" && u["parts"] == 1)
        .await;
    let second_key = second["key"].as_str().unwrap().to_owned();
    assert_ne!(second_key, first_key);

    let files = m.end().await;
    assert_eq!(files.len(), 1, "the mix only: {files:#?}");
    let file = mixed_file(&files, &second_key);
    let stored = object(&reader(&bucket, &endpoint), &second_key)
        .await
        .unwrap();
    let recording = m.recording(file["recording_id"].as_str().unwrap()).await;
    assert!(stored == recording);
    assert!(
        recording[44..] == expected_mix(&alice)[..],
        "the mix is not Alice alone"
    );
    assert_eq!(
        m.upload_when("*mixed", |u| u["state"] != "open").await["state"],
        "completed"
    );
    assert!(
        object(&reader(&bucket, &endpoint), &first_key)
            .await
            .is_none()
    );
    assert!(uploads_in_progress(&endpoint, &bucket).await.is_empty());
}
