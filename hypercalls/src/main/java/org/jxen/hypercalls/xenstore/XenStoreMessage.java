package org.jxen.hypercalls.xenstore;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.jxen.abi.XenStoreOp;
import org.jxen.abi.XsdSockmsg;

/**
 * One XenStore message: the {@code xsd_sockmsg} header fields and the payload. On the wire, on
 * the guest ring and on the Unix socket alike, a message is a 16-byte little-endian header
 * ({@code type}, {@code req_id}, {@code tx_id}, {@code len}) followed by {@code len} payload bytes,
 * at most {@link XsdSockmsg#PAYLOAD_MAX}.
 *
 * <pre>
 *  0 type    u32   a {@link XenStoreOp}
 *  4 req_id  u32   echoed in the reply
 *  8 tx_id   u32   0, or a transaction of this connection
 * 12 len     u32   payload bytes that follow
 * </pre>
 *
 * <p>Immutable by convention (the payload array is not copied; nobody writes it after
 * construction); safe from any thread.
 *
 * @param type a {@link XenStoreOp}
 * @param reqId the request id that the reply echoes
 * @param txId the transaction id, or 0
 * @param payload the payload bytes
 */
public record XenStoreMessage(int type, int reqId, int txId, byte[] payload) {
    /** The size of the header. */
    public static final int HEADER_SIZE = 16;

    /** A message carrying {@code strings}, each followed by a NUL. */
    public static XenStoreMessage ofStrings(int type, int reqId, int txId, String... strings) {
        return new XenStoreMessage(type, reqId, txId, nulTerminated(strings));
    }

    /** The strings' ISO-8859-1 bytes, each followed by a NUL. */
    public static byte[] nulTerminated(String... strings) {
        int n = 0;
        for (String s : strings) {
            n += s.length() + 1;
        }
        byte[] out = new byte[n];
        int at = 0;
        for (String s : strings) {
            byte[] b = s.getBytes(StandardCharsets.ISO_8859_1);
            System.arraycopy(b, 0, out, at, b.length);
            at += b.length + 1;
        }
        return out;
    }

    /** The header and payload as they go on the wire. */
    public byte[] toBytes() {
        byte[] out = new byte[HEADER_SIZE + payload.length];
        putHeader(out, 0, type, reqId, txId, payload.length);
        System.arraycopy(payload, 0, out, HEADER_SIZE, payload.length);
        return out;
    }

    /** Writes a header at {@code offset} of {@code dst}. */
    public static void putHeader(byte[] dst, int offset, int type, int reqId, int txId, int len) {
        putU32(dst, offset, type);
        putU32(dst, offset + 4, reqId);
        putU32(dst, offset + 8, txId);
        putU32(dst, offset + 12, len);
    }

    /** Reads the little-endian u32 at {@code offset} of {@code src}. */
    public static int getU32(byte[] src, int offset) {
        return (src[offset] & 0xff) | (src[offset + 1] & 0xff) << 8 | (src[offset + 2] & 0xff) << 16
                | (src[offset + 3] & 0xff) << 24;
    }

    private static void putU32(byte[] dst, int offset, int v) {
        dst[offset] = (byte) v;
        dst[offset + 1] = (byte) (v >>> 8);
        dst[offset + 2] = (byte) (v >>> 16);
        dst[offset + 3] = (byte) (v >>> 24);
    }

    /** Whether a header's {@code len} (an unsigned u32) is an acceptable payload length. */
    public static boolean isValidLength(int len) {
        return Integer.compareUnsigned(len, XsdSockmsg.PAYLOAD_MAX) <= 0;
    }

    /**
     * The payload split into NUL-terminated strings (ISO-8859-1, so bytes map one to one), or null
     * when the payload does not end with a NUL (an empty payload has no strings and gives null).
     */
    public List<String> strings() {
        return splitStrings(payload);
    }

    static List<String> splitStrings(byte[] payload) {
        if (payload.length == 0 || payload[payload.length - 1] != 0) {
            return null;
        }
        List<String> out = new ArrayList<>(4);
        int from = 0;
        for (int i = 0; i < payload.length; i++) {
            if (payload[i] == 0) {
                out.add(new String(payload, from, i - from, StandardCharsets.ISO_8859_1));
                from = i + 1;
            }
        }
        return out;
    }

    /** The payload as text, without a final NUL (for error names, tests and logs). */
    public String text() {
        int n = payload.length;
        if (n > 0 && payload[n - 1] == 0) {
            n--;
        }
        return new String(payload, 0, n, StandardCharsets.ISO_8859_1);
    }

    @Override
    public String toString() {
        String shown = text().replace('\0', '|');
        if (shown.length() > 80) {
            shown = shown.substring(0, 80) + "...";
        }
        return XenStoreOp.name(type) + " req " + Integer.toUnsignedString(reqId) + " tx "
                + Integer.toUnsignedString(txId) + " len " + payload.length + " \"" + shown + "\"";
    }
}
