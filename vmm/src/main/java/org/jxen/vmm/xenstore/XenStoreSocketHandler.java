package org.jxen.vmm.xenstore;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jxen.abi.XenStoreError;
import org.jxen.abi.XenStoreOp;
import org.jxen.hypercalls.xenstore.XenStore;
import org.jxen.hypercalls.xenstore.XenStoreConnection;
import org.jxen.hypercalls.xenstore.XenStoreMessage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One socket client: a privileged (dom0) {@link XenStoreConnection}. Requests from the decoder go
 * to the store; the connection's output goes to the socket while the socket is writable. A client
 * that stops reading stops being read (auto-read follows writability), and its watch events wait
 * in the connection's bounded queue rather than in the socket's buffer.
 *
 * <p>Threads: one instance per channel. Netty calls it on the channel's event loop; the
 * connection's output callback may run on any thread and only schedules {@link #flush()} there.
 */
final class XenStoreSocketHandler extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(XenStoreSocketHandler.class);

    private final XenStore store;
    private final AtomicBoolean flushScheduled = new AtomicBoolean();
    private volatile Channel channel;
    private XenStoreConnection connection;

    XenStoreSocketHandler(XenStore store) {
        this.store = store;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        channel = ctx.channel();
        connection = store.connect(0, this::outputReady);
        LOG.debug("xenstore socket: {} connected as {}", channel, connection);
        ctx.fireChannelActive();
    }

    private void outputReady() {
        Channel ch = channel;
        if (ch.eventLoop().inEventLoop()) {
            flush();
        } else if (flushScheduled.compareAndSet(false, true)) {
            ch.eventLoop().execute(() -> {
                flushScheduled.set(false);
                flush();
            });
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof XenStoreMessage m) {
            connection.process(m);
            flush();
        } else if (msg instanceof XenStoreFrameDecoder.TooLong t) {
            LOG.warn("xenstore socket: {} sent a {}-byte payload (max 4096); closing it", channel,
                    Integer.toUnsignedString(t.len()));
            XenStoreMessage error = XenStoreMessage.ofStrings(XenStoreOp.ERROR, t.reqId(), t.txId(), XenStoreError.E2BIG);
            ctx.writeAndFlush(encode(ctx, error)).addListener(ChannelFutureListener.CLOSE);
        }
    }

    /** Moves the connection's output to the socket while it is writable. Event loop only. */
    private void flush() {
        Channel ch = channel;
        if (ch == null || !ch.isActive()) {
            return;
        }
        boolean wrote = false;
        while (ch.isWritable()) {
            XenStoreMessage m = connection.pollOutput();
            if (m == null) {
                break;
            }
            ch.write(encode(ch.alloc(), m));
            wrote = true;
        }
        if (wrote) {
            ch.flush();
        }
        ch.config().setAutoRead(ch.isWritable());
    }

    private static ByteBuf encode(ChannelHandlerContext ctx, XenStoreMessage m) {
        return encode(ctx.alloc(), m);
    }

    private static ByteBuf encode(io.netty.buffer.ByteBufAllocator alloc, XenStoreMessage m) {
        byte[] payload = m.payload();
        ByteBuf b = alloc.buffer(XenStoreMessage.HEADER_SIZE + payload.length);
        b.writeIntLE(m.type()).writeIntLE(m.reqId()).writeIntLE(m.txId()).writeIntLE(payload.length);
        b.writeBytes(payload);
        return b;
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        flush();
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (connection != null) {
            connection.close();
        }
        LOG.debug("xenstore socket: {} disconnected", ctx.channel());
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.debug("xenstore socket: {} failed; closing it", ctx.channel(), cause);
        ctx.close();
    }
}
