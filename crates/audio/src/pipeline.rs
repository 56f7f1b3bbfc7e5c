//! The decoding pipeline: sniff, probe the container, choose the audio track, decode packet by
//! packet (symphonia, or libopus for Opus) into the mono 16 kHz output stage, and check what was
//! decoded against what the header declared. Holds one packet at a time, never the whole file.

use symphonia::core::codecs::audio::well_known::CODEC_ID_OPUS;
use symphonia::core::codecs::audio::{AudioCodecParameters, AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint as SymHint;
use symphonia::core::formats::{FormatOptions, Track, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::packet::Packet;

use crate::mono::MonoSink;
use crate::opus::{OPUS_RATE, OpusDecoder, OpusHead};
use crate::{AudioError, AudioInfo, Hint, Limits, sniff};

/// Source sample rates outside this range are rejected before anything is allocated for them.
const MIN_RATE: u32 = 1_000;
const MAX_RATE: u32 = 768_000;
/// Isolated undecodable packets are skipped (a damaged frame in an otherwise good recording);
/// more than this many make the file corrupt.
const MAX_BAD_PACKETS: u32 = 3;
/// How much shorter than declared a file may decode before it counts as truncated: codec
/// priming and padding account for a few tens of milliseconds.
const TRUNCATION_TOLERANCE_SECS: f64 = 0.25;
const TRUNCATION_TOLERANCE_FRACTION: f64 = 0.01;

pub(crate) fn run(
    source: Box<dyn MediaSource>,
    hint: &Hint,
    limits: &Limits,
    sink: &mut dyn FnMut(&[f32]),
) -> Result<AudioInfo, AudioError> {
    let byte_len = source.byte_len();
    if byte_len == Some(0) {
        return Err(AudioError::Empty);
    }
    let mut mss = MediaSourceStream::new(source, Default::default());
    let prefix = sniff::check(&mut mss)?;
    let mut format = symphonia::default::get_probe()
        .probe(
            &symphonia_hint(hint),
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| probe_error(e, prefix))?;
    let container = format.format_info().short_name.to_owned();
    let track = audio_track(format.tracks())?;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .cloned()
        .ok_or_else(|| AudioError::corrupt("the audio track has no codec parameters"))?;
    let mut decoder = Decoder::new(&params)?;
    let rate = if decoder.is_opus() {
        OPUS_RATE
    } else {
        params.sample_rate.unwrap_or(0)
    };
    if !(MIN_RATE..=MAX_RATE).contains(&rate) {
        return Err(AudioError::unsupported(format!(
            "a sample rate of {rate} Hz"
        )));
    }
    let rate_f = f64::from(rate);
    let declared = declared_secs(&track, rate_f);
    let limit_secs = limits.max_duration_secs;
    if let Some(declared) = declared.filter(|&d| d > limit_secs) {
        // A header that declares more than the file could hold is a truncated (or lying) file,
        // whatever the limit: say so rather than "too long".
        if let Some(actual_secs) = pcm_secs_in(byte_len, &params, rate_f, &decoder, declared) {
            return Err(AudioError::Truncated {
                declared_secs: declared,
                actual_secs,
            });
        }
        return Err(AudioError::TooLong { limit_secs });
    }
    // A NaN or negative limit admits nothing; the cast saturates.
    let limit_frames = (limit_secs.max(0.0) * rate_f) as u64;

    // Frames past the declared count are codec padding (symphonia does not read MP4 edit lists);
    // Opus applies its own end trim.
    let frame_cap = if decoder.is_opus() {
        None
    } else {
        track.num_frames
    };
    let track_id = track.id;
    let mut output = MonoSink::new(rate, sink);
    let mut interleaved = Vec::new();
    let mut frames: u64 = 0;
    let mut channels: Option<usize> = None;
    let mut bad_packets = 0u32;
    let mut ended_mid_stream = false;
    let mut demux_error = None;
    loop {
        let packet = match format.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                ended_mid_stream = true;
                break;
            }
            // Malformed container data mid-file: corrupt, unless the header's duration shows the
            // file simply stops early (a truncated MP4's sample table points past its end).
            Err(SymError::DecodeError(detail)) => {
                demux_error = Some(detail);
                break;
            }
            Err(e) => return Err(stream_error(e)),
        };
        if packet.track_id != track_id {
            continue;
        }
        let (packet_channels, packet_rate) = match decoder.decode(&packet, &mut interleaved) {
            Ok(decoded) => decoded,
            Err(PacketError::Bad(detail)) => {
                bad_packets += 1;
                if bad_packets > MAX_BAD_PACKETS {
                    return Err(AudioError::corrupt(format!(
                        "more than {MAX_BAD_PACKETS} audio packets do not decode; the last: {detail}"
                    )));
                }
                continue;
            }
            Err(PacketError::Fatal(e)) => return Err(e),
        };
        if interleaved.is_empty() {
            continue;
        }
        if packet_rate != rate {
            return Err(AudioError::unsupported(
                "a recording whose sample rate changes mid-file",
            ));
        }
        let packet_channels = packet_channels.max(1);
        channels.get_or_insert(packet_channels);
        if let Some(cap) = frame_cap {
            let room = usize::try_from(cap.saturating_sub(frames)).unwrap_or(usize::MAX);
            interleaved.truncate(room.saturating_mul(packet_channels));
            if interleaved.is_empty() {
                continue;
            }
        }
        frames += (interleaved.len() / packet_channels) as u64;
        if frames > limit_frames {
            return Err(AudioError::TooLong { limit_secs });
        }
        output.push(&interleaved, packet_channels);
    }

    let actual_secs = frames as f64 / rate_f;
    if let Some(declared) = declared {
        let tolerance = TRUNCATION_TOLERANCE_SECS.max(declared * TRUNCATION_TOLERANCE_FRACTION);
        if declared - actual_secs > tolerance {
            return Err(AudioError::Truncated {
                declared_secs: declared,
                actual_secs,
            });
        }
    }
    if let Some(detail) = demux_error {
        return Err(AudioError::corrupt(detail));
    }
    if frames == 0 {
        return Err(if bad_packets > 0 {
            AudioError::corrupt("none of its audio packets decodes")
        } else if ended_mid_stream {
            AudioError::EndsMidStream { actual_secs }
        } else {
            AudioError::NoSamples { container }
        });
    }
    // A live-written WebM (a browser's MediaRecorder) has unknown element sizes and no duration:
    // it ends at the end of the file by design, so there a cut cannot be told from the end.
    let live_matroska = container == "matroska" && declared.is_none();
    if ended_mid_stream && !live_matroska {
        return Err(AudioError::EndsMidStream { actual_secs });
    }
    if decoder.checksum_failed() {
        return Err(AudioError::corrupt(
            "the audio does not match the checksum stored in the file",
        ));
    }
    output.finish();
    let codec = decoder.name();
    let channels = channels
        .or(params.channels.as_ref().map(|c| c.count()))
        .unwrap_or(1);
    Ok(AudioInfo {
        container,
        codec,
        source_sample_rate: rate,
        channels: u16::try_from(channels).unwrap_or(u16::MAX),
        duration_secs: actual_secs,
    })
}

fn symphonia_hint(hint: &Hint) -> SymHint {
    let mut sym = SymHint::new();
    if let Some(ext) = &hint.extension {
        sym.with_extension(&ext.trim_start_matches('.').to_ascii_lowercase());
    }
    if let Some(mime) = &hint.mime {
        sym.mime_type(&mime.to_ascii_lowercase());
    }
    sym
}

/// The track to decode: the container's default audio track, else its first audio track.
fn audio_track(tracks: &[Track]) -> Result<Track, AudioError> {
    let is_audio = |t: &&Track| t.codec_params.as_ref().is_some_and(|p| p.is_audio());
    if let Some(track) = tracks.iter().find(is_audio) {
        return Ok(track.clone());
    }
    let count = |kind: TrackType| {
        tracks
            .iter()
            .filter(|t| t.track_type() == Some(kind))
            .count()
    };
    let (video, subtitle) = (count(TrackType::Video), count(TrackType::Subtitle));
    let other = tracks.len() - video - subtitle;
    let mut parts = Vec::new();
    for (n, what) in [(video, "video"), (subtitle, "subtitle"), (other, "other")] {
        if n > 0 {
            parts.push(format!("{n} {what} track{}", if n == 1 { "" } else { "s" }));
        }
    }
    let found = if parts.is_empty() {
        "no tracks at all".to_owned()
    } else {
        parts.join(", ")
    };
    Err(AudioError::NoAudioTrack { found })
}

/// The duration the container declares for the track, in seconds.
fn declared_secs(track: &Track, rate: f64) -> Option<f64> {
    let secs = match (track.num_frames, track.duration, track.time_base) {
        (Some(frames), _, _) => frames as f64 / rate,
        (None, Some(duration), Some(time_base)) => duration.get() as f64 * f64::from(time_base),
        _ => return None,
    };
    (secs.is_finite() && secs >= 0.0).then_some(secs)
}

/// For PCM, whose size follows from its duration: the seconds the file's bytes can hold, when
/// that is less than declared.
fn pcm_secs_in(
    byte_len: Option<u64>,
    params: &AudioCodecParameters,
    rate: f64,
    decoder: &Decoder,
    declared: f64,
) -> Option<f64> {
    if !decoder.name().starts_with("pcm") {
        return None;
    }
    let bits = params.bits_per_coded_sample.or(params.bits_per_sample)?;
    let channels = params.channels.as_ref()?.count();
    let bytes_per_frame = f64::from(bits.div_ceil(8)) * channels as f64;
    let held = byte_len? as f64 / bytes_per_frame / rate;
    (bytes_per_frame > 0.0 && held < declared).then_some(held)
}

fn probe_error(err: SymError, prefix: sniff::Prefix) -> AudioError {
    match err {
        SymError::Unsupported(_) => match prefix.damaged {
            Some(detail) => AudioError::corrupt(detail),
            None => AudioError::unsupported(
                "the file's format (no known audio container was found in it)",
            ),
        },
        SymError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            AudioError::corrupt("the file ends before its header is complete")
        }
        other => stream_error(other),
    }
}

/// Maps an error from reading the container (not from decoding a packet).
fn stream_error(err: SymError) -> AudioError {
    match err {
        SymError::IoError(e) => AudioError::Io(e),
        SymError::DecodeError(detail) | SymError::LimitError(detail) => AudioError::corrupt(detail),
        SymError::Unsupported(what) => {
            AudioError::unsupported(format!("a feature of this file ({what})"))
        }
        SymError::ResetRequired => {
            AudioError::unsupported("a recording whose track layout changes mid-file")
        }
        other => AudioError::corrupt(other.to_string()),
    }
}

enum PacketError {
    /// This packet is damaged; others may be fine.
    Bad(String),
    Fatal(AudioError),
}

enum Decoder {
    Native {
        decoder: Box<dyn AudioDecoder>,
        checksum_failed: bool,
    },
    Opus(OpusDecoder),
}

impl Decoder {
    fn new(params: &AudioCodecParameters) -> Result<Self, AudioError> {
        if params.codec == CODEC_ID_OPUS {
            let extra = params.extra_data.as_deref().unwrap_or_default();
            return Ok(Decoder::Opus(OpusDecoder::new(&OpusHead::parse(extra)?)?));
        }
        let options = AudioDecoderOptions::default().verify(true);
        match symphonia::default::get_codecs().make_audio_decoder(params, &options) {
            Ok(decoder) => Ok(Decoder::Native {
                decoder,
                checksum_failed: false,
            }),
            Err(SymError::Unsupported(_)) => {
                Err(AudioError::unsupported("the audio codec in this file"))
            }
            Err(e) => Err(stream_error(e)),
        }
    }

    fn is_opus(&self) -> bool {
        matches!(self, Decoder::Opus(_))
    }

    fn name(&self) -> String {
        match self {
            Decoder::Native { decoder, .. } => decoder.codec_info().short_name.to_owned(),
            Decoder::Opus(_) => "opus".to_owned(),
        }
    }

    /// Decodes one packet into `out` (interleaved f32); returns its channel count and rate.
    fn decode(&mut self, packet: &Packet, out: &mut Vec<f32>) -> Result<(usize, u32), PacketError> {
        match self {
            Decoder::Native { decoder, .. } => match decoder.decode(packet) {
                Ok(audio) => {
                    let spec = audio.spec();
                    let shape = (spec.channels().count(), spec.rate());
                    audio.copy_to_vec_interleaved::<f32>(out);
                    Ok(shape)
                }
                Err(SymError::DecodeError(detail)) => Err(PacketError::Bad(detail.to_owned())),
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(
                    PacketError::Bad("a packet is shorter than its header says".to_owned()),
                ),
                Err(e) => Err(PacketError::Fatal(stream_error(e))),
            },
            Decoder::Opus(opus) => match opus.decode(packet, out) {
                Ok(()) => Ok((opus.channels(), OPUS_RATE)),
                Err(AudioError::Corrupt { detail }) => Err(PacketError::Bad(detail)),
                Err(e) => Err(PacketError::Fatal(e)),
            },
        }
    }

    /// Runs the decoder's end-of-stream verification (FLAC's MD5, where present).
    fn checksum_failed(&mut self) -> bool {
        match self {
            Decoder::Native {
                decoder,
                checksum_failed,
            } => {
                *checksum_failed |= decoder.finalize().verify_ok == Some(false);
                *checksum_failed
            }
            Decoder::Opus(_) => false,
        }
    }
}
