package org.jxen.vmm.xenstore;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;
import org.jxen.hypercalls.xenstore.XenStoreMessage;

/**
 * Cuts the socket's byte stream into XenStore messages: a 16-byte little-endian header whose last
 * field is the payload length, then the payload. A header announcing more than 4096 payload bytes
 * produces one {@link TooLong} (the peer is then answered and dropped, as xenstored drops it) and
 * everything after it is discarded.
 *
 * <p>Threads: one instance per channel, called only on the channel's event loop.
 */
final class XenStoreFrameDecoder extends ByteToMessageDecoder {

    /** A header whose length is too long for a XenStore message. */
    record TooLong(int type, int reqId, int txId, int len) {
    }

    private boolean discarding;

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (discarding) {
            in.skipBytes(in.readableBytes());
            return;
        }
        int available = in.readableBytes();
        if (available < XenStoreMessage.HEADER_SIZE) {
            return;
        }
        int at = in.readerIndex();
        int type = in.getIntLE(at);
        int reqId = in.getIntLE(at + 4);
        int txId = in.getIntLE(at + 8);
        int len = in.getIntLE(at + 12);
        if (!XenStoreMessage.isValidLength(len)) {
            discarding = true;
            in.skipBytes(available);
            out.add(new TooLong(type, reqId, txId, len));
            return;
        }
        if (available < XenStoreMessage.HEADER_SIZE + len) {
            return;
        }
        in.skipBytes(XenStoreMessage.HEADER_SIZE);
        byte[] payload = new byte[len];
        in.readBytes(payload);
        out.add(new XenStoreMessage(type, reqId, txId, payload));
    }
}
