package org.jxen.vmm.monitor;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.timeout.ReadTimeoutHandler;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * jxen's HTTP monitor, on Netty with the NIO transport:
 * <ul>
 * <li>{@code GET /metrics}: the Prometheus text exposition of a {@link PrometheusMeterRegistry}
 * (bind jxen's meters to it with {@link JxenMetrics});</li>
 * <li>{@code GET /vm}: the VM as JSON ({@link VmJson} of a {@link VmView} snapshot);</li>
 * <li>any other path: 404; another method on these paths: 405 (with {@code Allow: GET}); a request
 * that does not parse: 400, and the connection is closed; a request body over 64 KiB: 413.</li>
 * </ul>
 * A failure while serving (a snapshot that throws) is a 500 for that request, never the end of the
 * monitor. Idle connections are closed after 60 s.
 *
 * <p>Threads: {@link #start} and {@link #close} from any thread (a controlling one); requests are
 * served on the monitor's single event-loop thread ({@code jxen-monitor}), which calls the view and
 * scrapes the registry there, one request at a time.
 */
public final class Monitor implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Monitor.class);
    /** The content type of the Prometheus text format, version 0.0.4. */
    static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";
    private static final int MAX_CONTENT = 64 * 1024;
    private static final AtomicInteger INSTANCES = new AtomicInteger();

    private final EventLoopGroup group;
    private final Channel server;

    private Monitor(EventLoopGroup group, Channel server) {
        this.group = group;
        this.server = server;
    }

    /**
     * Starts serving on {@code host:port} ({@code port} 0 picks a free one: see {@link #port()}).
     * Returns once the socket is bound; throws {@link java.io.UncheckedIOException} if it cannot be.
     */
    public static Monitor start(String host, int port, PrometheusMeterRegistry registry, VmView view) {
        int n = INSTANCES.incrementAndGet();
        ThreadFactory threads = r -> {
            Thread t = new Thread(r, n == 1 ? "jxen-monitor" : "jxen-monitor-" + n);
            t.setDaemon(true);
            return t;
        };
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, threads, NioIoHandler.newFactory());
        try {
            Channel ch = new ServerBootstrap()
                    .group(group)
                    .channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel c) {
                            c.pipeline().addLast(new ReadTimeoutHandler(60, TimeUnit.SECONDS))
                                    .addLast(new HttpServerCodec())
                                    .addLast(new HttpObjectAggregator(MAX_CONTENT))
                                    .addLast(new Handler(registry, view));
                        }
                    })
                    .bind(host, port).syncUninterruptibly().channel();
            Monitor m = new Monitor(group, ch);
            LOG.info("monitor listening on http://{}:{}/ (/metrics, /vm)", host, m.port());
            return m;
        } catch (Exception e) { // Netty rethrows the bind's checked exception (BindException) undeclared
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            if (e instanceof java.io.IOException io) {
                throw new java.io.UncheckedIOException("monitor cannot listen on " + host + ":" + port + ": " + io, io);
            }
            if (e instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(e);
        }
    }

    /** The address the monitor listens on. */
    public InetSocketAddress address() {
        return (InetSocketAddress) server.localAddress();
    }

    /** The port the monitor listens on (the one picked when started with 0). */
    public int port() {
        return address().getPort();
    }

    /** Stops listening, closes every connection and ends the event-loop thread; waits up to 5 s. */
    @Override
    public void close() {
        server.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    /** Serves one connection's requests; on the event-loop thread. */
    private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final PrometheusMeterRegistry registry;
        private final VmView view;

        Handler(PrometheusMeterRegistry registry, VmView view) {
            this.registry = registry;
            this.view = view;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            if (!req.decoderResult().isSuccess()) {
                send(ctx, req, HttpResponseStatus.BAD_REQUEST, "text/plain; charset=utf-8", "bad request\n", false);
                return;
            }
            String path = new QueryStringDecoder(req.uri()).path();
            boolean known = path.equals("/metrics") || path.equals("/vm");
            if (!known) {
                send(ctx, req, HttpResponseStatus.NOT_FOUND, "text/plain; charset=utf-8",
                        "not found: the monitor serves /metrics and /vm\n", true);
                return;
            }
            if (!HttpMethod.GET.equals(req.method())) {
                FullHttpResponse r = response(HttpResponseStatus.METHOD_NOT_ALLOWED, "text/plain; charset=utf-8",
                        "method not allowed: GET only\n");
                r.headers().set(HttpHeaderNames.ALLOW, "GET");
                write(ctx, req, r, true);
                return;
            }
            String body;
            String type;
            try {
                if (path.equals("/metrics")) {
                    body = registry.scrape();
                    type = PROMETHEUS_TEXT;
                } else {
                    body = VmJson.of(view.snapshot()) + "\n";
                    type = "application/json; charset=utf-8";
                }
            } catch (RuntimeException e) {
                LOG.warn("monitor: {} failed", path, e);
                send(ctx, req, HttpResponseStatus.INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8",
                        "internal error: " + e + "\n", true);
                return;
            }
            send(ctx, req, HttpResponseStatus.OK, type, body, true);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // a reset connection, a read time-out, a decoder failure before a request: drop the connection
            LOG.debug("monitor: closing connection {}: {}", ctx.channel().remoteAddress(), cause.toString());
            ctx.close();
        }

        private static FullHttpResponse response(HttpResponseStatus status, String type, String body) {
            ByteBuf content = Unpooled.copiedBuffer(body, StandardCharsets.UTF_8);
            FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content);
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
            r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
            return r;
        }

        private static void send(ChannelHandlerContext ctx, FullHttpRequest req, HttpResponseStatus status, String type,
                String body, boolean mayKeepAlive) {
            write(ctx, req, response(status, type, body), mayKeepAlive);
        }

        private static void write(ChannelHandlerContext ctx, FullHttpRequest req, FullHttpResponse r,
                boolean mayKeepAlive) {
            boolean keepAlive = mayKeepAlive && HttpUtil.isKeepAlive(req);
            if (keepAlive) {
                if (req.protocolVersion().equals(HttpVersion.HTTP_1_0)) {
                    r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
                }
                ctx.writeAndFlush(r);
            } else {
                r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
            }
        }
    }
}
