package org.jxen.hypercalls;

import java.util.List;
import org.jxen.abi.WordSize;
import org.jxen.hypercalls.testing.DomainDriver;
import org.jxen.hypercalls.testing.InMemoryXenPlatform;
import org.jxen.hypercalls.testing.UpcallSink;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * The in-process fixture of domain tests: a two-vCPU domain on an {@link InMemoryXenPlatform} with
 * 1 MiB of RAM at gpa 0, paging off (gva = gpa), whose upcalls are recorded and console output kept;
 * the guest's calls come from vCPU {@code request.vcpuId()} with arguments at {@link #ARGS}.
 * A test class with another platform overrides {@link #newPlatform()} (and {@link #vcpus()}).
 */
abstract class DomainTestBase {
    static final long RAM = 1 << 20;
    static final long ARGS = 0x10000;
    static final long SHARED_INFO_GFN = 0x20;
    static final int VECTOR = 0xf3;

    final UpcallSink.Recorder upcalls = new UpcallSink.Recorder();
    InMemoryXenPlatform platform;
    XenDomain domain;
    HypercallRequest request;

    /** The test's platform: RAM at gpa 0, upcalls to {@link #upcalls}, console kept. */
    InMemoryXenPlatform newPlatform() {
        InMemoryXenPlatform p = new InMemoryXenPlatform("test", upcalls, InMemoryXenPlatform.Console.KEEP);
        p.addRam(0, RAM);
        return p;
    }

    int vcpus() {
        return 2;
    }

    @BeforeEach
    void setUp() {
        platform = newPlatform();
        domain = new XenDomain(platform, XenDomain.Config.of(vcpus()));
        request = new HypercallRequest(0);
    }

    @AfterEach
    void tearDown() {
        domain.close();
        platform.close();
    }

    /** The upcalls delivered so far, as "vcpu:vector". */
    List<String> upcalls() {
        return upcalls.upcalls();
    }

    /** The guest, as the vCPU of {@link #request}, on the current {@link #domain}. */
    DomainDriver guest() {
        return new DomainDriver(domain, platform.memory(), request.vcpuId(), ARGS);
    }

    long call(int nr, long a0, long a1, long a2) {
        return guest().call(nr, a0, a1, a2);
    }

    long call32(int nr, long a0, long a1, long a2) {
        return guest().call(WordSize.BITS_32, nr, a0, a1, a2);
    }

    void mapSharedInfo() {
        guest().mapSharedInfo(SHARED_INFO_GFN);
    }

    void setUpcallVector(int vcpu) {
        guest().setUpcallVector(vcpu, VECTOR);
    }

    int bindIpi(int vcpu) {
        return guest().bindIpi(vcpu);
    }

    long send(int port) {
        return guest().send(port);
    }

    long sharedInfoGpa() {
        return SHARED_INFO_GFN << 12;
    }
}
