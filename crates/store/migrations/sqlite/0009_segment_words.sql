-- A segment's timed words (word timestamps), when a transcription asked for them: a JSON list
-- of {text, start, end, probability}, sealed under the meeting's key like the segment's text
-- (envelope 0x02 bound to org, table, row and the field "words"). NULL: no words were timed.
ALTER TABLE transcript_segments ADD COLUMN words BLOB;
