package codec

import "encoding/binary"

// AppendData appends one DATA frame carrying data to dst. The caller keeps
// len(data) within the peer's SETTINGS_MAX_FRAME_SIZE and flow-control windows.
func AppendData(dst []byte, streamID uint32, endStream bool, data []byte) []byte {
	var f Flags
	if endStream {
		f = FlagEndStream
	}
	dst = appendHeader(dst, len(data), FrameData, f, streamID)
	return append(dst, data...)
}

// AppendDataPadded appends a DATA frame with padLen octets of padding.
func AppendDataPadded(dst []byte, streamID uint32, endStream bool, data []byte, padLen uint8) []byte {
	f := FlagPadded
	if endStream {
		f |= FlagEndStream
	}
	dst = appendHeader(dst, 1+len(data)+int(padLen), FrameData, f, streamID)
	dst = append(dst, padLen)
	dst = append(dst, data...)
	// "Padding octets MUST be set to zero when sending" (RFC 9113 §6.1). The
	// compiler turns this append of a fresh zeroed slice into a clear of dst's
	// tail: no allocation.
	return append(dst, make([]byte, padLen)...)
}

// AppendHeaders appends a single HEADERS frame carrying fragment.
func AppendHeaders(dst []byte, streamID uint32, endStream, endHeaders bool, fragment []byte) []byte {
	var f Flags
	if endStream {
		f |= FlagEndStream
	}
	if endHeaders {
		f |= FlagEndHeaders
	}
	dst = appendHeader(dst, len(fragment), FrameHeaders, f, streamID)
	return append(dst, fragment...)
}

// AppendHeadersPriority appends a HEADERS frame with the PRIORITY flag set.
func AppendHeadersPriority(dst []byte, streamID uint32, endStream, endHeaders bool, pp PriorityParam, fragment []byte) []byte {
	f := FlagPriority
	if endStream {
		f |= FlagEndStream
	}
	if endHeaders {
		f |= FlagEndHeaders
	}
	dst = appendHeader(dst, 5+len(fragment), FrameHeaders, f, streamID)
	dst = appendPriorityParam(dst, pp)
	return append(dst, fragment...)
}

// AppendContinuation appends a CONTINUATION frame carrying fragment.
func AppendContinuation(dst []byte, streamID uint32, endHeaders bool, fragment []byte) []byte {
	var f Flags
	if endHeaders {
		f = FlagEndHeaders
	}
	dst = appendHeader(dst, len(fragment), FrameContinuation, f, streamID)
	return append(dst, fragment...)
}

// AppendHeaderBlock appends a whole encoded field block as one HEADERS frame
// followed by as many CONTINUATION frames as maxFrameSize requires (§4.3):
// every frame but the last carries exactly maxFrameSize octets, END_STREAM is
// set (if endStream) only on the HEADERS frame, END_HEADERS only on the last
// frame, and no frame is empty unless block is. maxFrameSize is the peer's
// SETTINGS_MAX_FRAME_SIZE, clamped to [16384, 2^24-1], the range §6.5.2 allows.
func AppendHeaderBlock(dst []byte, streamID uint32, endStream bool, block []byte, maxFrameSize uint32) []byte {
	if maxFrameSize < DefaultMaxFrameSize {
		maxFrameSize = DefaultMaxFrameSize
	}
	if maxFrameSize > MaxFrameSizeLimit {
		maxFrameSize = MaxFrameSizeLimit
	}
	max := int(maxFrameSize)
	if len(block) <= max {
		return AppendHeaders(dst, streamID, endStream, true, block)
	}
	dst = AppendHeaders(dst, streamID, endStream, false, block[:max])
	block = block[max:]
	for len(block) > max {
		dst = AppendContinuation(dst, streamID, false, block[:max])
		block = block[max:]
	}
	return AppendContinuation(dst, streamID, true, block)
}

func appendPriorityParam(dst []byte, pp PriorityParam) []byte {
	v := pp.StreamDep & MaxStreamID
	if pp.Exclusive {
		v |= 1 << 31
	}
	return append(binary.BigEndian.AppendUint32(dst, v), pp.Weight)
}

// AppendPriority appends a PRIORITY frame.
func AppendPriority(dst []byte, streamID uint32, pp PriorityParam) []byte {
	dst = appendHeader(dst, 5, FramePriority, 0, streamID)
	return appendPriorityParam(dst, pp)
}

// AppendRSTStream appends a RST_STREAM frame.
func AppendRSTStream(dst []byte, streamID uint32, code ErrCode) []byte {
	dst = appendHeader(dst, 4, FrameRSTStream, 0, streamID)
	return binary.BigEndian.AppendUint32(dst, uint32(code))
}

// AppendSettings appends a SETTINGS frame carrying settings.
func AppendSettings(dst []byte, settings ...Setting) []byte {
	dst = appendHeader(dst, 6*len(settings), FrameSettings, 0, 0)
	for _, s := range settings {
		dst = binary.BigEndian.AppendUint16(dst, uint16(s.ID))
		dst = binary.BigEndian.AppendUint32(dst, s.Value)
	}
	return dst
}

// AppendSettingsAck appends an empty SETTINGS frame with the ACK flag.
func AppendSettingsAck(dst []byte) []byte {
	return appendHeader(dst, 0, FrameSettings, FlagAck, 0)
}

// AppendPushPromise appends a single PUSH_PROMISE frame.
func AppendPushPromise(dst []byte, streamID, promisedID uint32, endHeaders bool, fragment []byte) []byte {
	var f Flags
	if endHeaders {
		f = FlagEndHeaders
	}
	dst = appendHeader(dst, 4+len(fragment), FramePushPromise, f, streamID)
	dst = binary.BigEndian.AppendUint32(dst, promisedID&MaxStreamID)
	return append(dst, fragment...)
}

// AppendPing appends a PING frame; ack sets the ACK flag.
func AppendPing(dst []byte, ack bool, data [8]byte) []byte {
	var f Flags
	if ack {
		f = FlagAck
	}
	dst = appendHeader(dst, 8, FramePing, f, 0)
	return append(dst, data[:]...)
}

// AppendGoAway appends a GOAWAY frame.
func AppendGoAway(dst []byte, lastStreamID uint32, code ErrCode, debug []byte) []byte {
	dst = appendHeader(dst, 8+len(debug), FrameGoAway, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, lastStreamID&MaxStreamID)
	dst = binary.BigEndian.AppendUint32(dst, uint32(code))
	return append(dst, debug...)
}

// AppendWindowUpdate appends a WINDOW_UPDATE frame (streamID 0: the connection).
func AppendWindowUpdate(dst []byte, streamID, increment uint32) []byte {
	dst = appendHeader(dst, 4, FrameWindowUpdate, 0, streamID)
	return binary.BigEndian.AppendUint32(dst, increment&MaxWindowSize)
}
