package org.jxen.vmm.xenstore;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.jxen.hypercalls.xenstore.XenStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host's XenStore socket: a Unix stream socket speaking the XenStore wire protocol (16-byte
 * header and payload), as {@code xenstored}'s {@code /var/run/xenstored/socket} does, so that
 * Xen's own tools ({@code xenstore-read}, {@code -write}, {@code -ls}, {@code -watch}, ... with
 * {@code XENSTORED_PATH} set to the socket) work against a jxen VM. Every client is privileged
 * (dom0), like xenstored's socket clients; the socket file is made readable and writable by its
 * owner only.
 *
 * <p>Served with Netty's NIO transport for Unix-domain sockets ({@code NioServerDomainSocketChannel},
 * built on the JDK's {@code UnixDomainSocketAddress}; no native artefacts), on one event-loop
 * thread. A client that sends a header announcing more than 4096 payload bytes gets an
 * {@code E2BIG} error and is disconnected; any other malformed request gets an {@code ERROR} reply
 * from the store.
 *
 * <p>Threads: {@link #start} and {@link #close} may be called from any thread (they are
 * serialised on this object) but not from the server's own event loop. Requests run on the event
 * loop, under the store's lock.
 */
public final class XenStoreSocketServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(XenStoreSocketServer.class);

    private final XenStore store;
    private EventLoopGroup group;
    private Channel serverChannel;
    private ChannelGroup clients;
    private Path path;

    public XenStoreSocketServer(XenStore store) {
        this.store = store;
    }

    /**
     * Listens on {@code socketPath}. A stale socket left there (nobody accepts on it) is replaced;
     * a live one, or any other kind of file, is an {@link IOException}.
     */
    public synchronized void start(Path socketPath) throws IOException {
        if (serverChannel != null) {
            throw new IllegalStateException("already listening on " + path);
        }
        removeStaleSocket(socketPath);
        EventLoopGroup g = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        ChannelGroup all = new DefaultChannelGroup("xenstore-clients", GlobalEventExecutor.INSTANCE);
        try {
            ServerBootstrap b = new ServerBootstrap()
                    .group(g)
                    .channel(NioServerDomainSocketChannel.class)
                    .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(32 * 1024, 128 * 1024))
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            all.add(ch);
                            ch.pipeline().addLast("frames", new XenStoreFrameDecoder());
                            ch.pipeline().addLast("xenstore", new XenStoreSocketHandler(store));
                        }
                    });
            Channel ch = b.bind(UnixDomainSocketAddress.of(socketPath)).syncUninterruptibly().channel();
            try {
                Files.setPosixFilePermissions(socketPath, PosixFilePermissions.fromString("rw-------"));
            } catch (UnsupportedOperationException e) {
                LOG.debug("xenstore socket: no POSIX permissions on {}", socketPath);
            }
            serverChannel = ch;
            group = g;
            clients = all;
            path = socketPath;
            LOG.info("xenstore socket: listening on {}", socketPath);
        } catch (RuntimeException e) {
            g.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw new IOException("cannot listen on " + socketPath + ": " + e.getMessage(), e);
        }
    }

    private static void removeStaleSocket(Path socketPath) throws IOException {
        if (!Files.exists(socketPath, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (Files.isRegularFile(socketPath, LinkOption.NOFOLLOW_LINKS) || Files.isDirectory(socketPath, LinkOption.NOFOLLOW_LINKS)
                || Files.isSymbolicLink(socketPath)) {
            throw new IOException(socketPath + " exists and is not a socket");
        }
        boolean live;
        try {
            SocketChannel.open(UnixDomainSocketAddress.of(socketPath)).close();
            live = true;
        } catch (IOException refused) {
            live = false;
        }
        if (live) {
            throw new IOException("another server is listening on " + socketPath);
        }
        Files.deleteIfExists(socketPath);
    }

    /** The socket's path, or null when not listening. */
    public synchronized Path path() {
        return path;
    }

    /** The number of connected clients. */
    public synchronized int clientCount() {
        return clients == null ? 0 : clients.size();
    }

    /** Stops listening, disconnects every client and removes the socket file. Idempotent. */
    @Override
    public synchronized void close() {
        if (serverChannel == null) {
            return;
        }
        serverChannel.close().syncUninterruptibly();
        clients.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            LOG.warn("xenstore socket: cannot remove {}: {}", path, e.toString());
        }
        LOG.info("xenstore socket: closed {}", path);
        serverChannel = null;
        group = null;
        clients = null;
        path = null;
    }
}
