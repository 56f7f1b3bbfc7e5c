-- A recording is stored and served as the media type its decoding detected, never as the
-- Content-Type its uploader declared (which could be text/html). Rows written before this rule
-- take the type of the container recorded in `codec` ("container/codec"); a row without one is
-- served as bytes. The server also serves only types from its allow-list, whatever a row holds.
UPDATE recordings SET content_type = CASE
    WHEN codec LIKE 'wave/%' THEN 'audio/wav'
    WHEN codec LIKE 'aiff/%' THEN 'audio/aiff'
    WHEN codec LIKE 'flac/%' THEN 'audio/flac'
    WHEN codec LIKE 'mp3/%' OR codec LIKE 'mp2/%' OR codec LIKE 'mp1/%' THEN 'audio/mpeg'
    WHEN codec LIKE 'aac/%' THEN 'audio/aac'
    WHEN codec LIKE 'isomp4/%' THEN 'audio/mp4'
    WHEN codec LIKE 'ogg/%' THEN 'audio/ogg'
    WHEN codec LIKE 'matroska/%' THEN 'audio/webm'
    ELSE 'application/octet-stream'
END;
