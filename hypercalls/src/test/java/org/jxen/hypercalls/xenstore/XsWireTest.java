package org.jxen.hypercalls.xenstore;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.jxen.abi.WordSize;
import org.jxen.abi.XenStoreOp;
import org.jxen.abi.XsdSockmsg;
import org.junit.jupiter.api.Test;

/** The message codec, path rules and permission strings. */
class XsWireTest {

    @Test
    void headerIsLittleEndianAtTheAbiOffsets() {
        byte[] b = new XenStoreMessage(XenStoreOp.WRITE, 0x01020304, 0x0a0b0c0d, new byte[] {'x', 0}).toBytes();
        assertEquals(XenStoreMessage.HEADER_SIZE, XsdSockmsg.sizeof(WordSize.BITS_64));
        assertEquals(18, b.length);
        assertEquals(XenStoreOp.WRITE, XenStoreMessage.getU32(b, (int) XsdSockmsg.offsetOfType(WordSize.BITS_64)));
        assertEquals(0x01020304, XenStoreMessage.getU32(b, (int) XsdSockmsg.offsetOfReqId(WordSize.BITS_64)));
        assertEquals(0x0a0b0c0d, XenStoreMessage.getU32(b, (int) XsdSockmsg.offsetOfTxId(WordSize.BITS_64)));
        assertEquals(2, XenStoreMessage.getU32(b, (int) XsdSockmsg.offsetOfLen(WordSize.BITS_64)));
        assertArrayEquals(new byte[] {4, 3, 2, 1}, java.util.Arrays.copyOfRange(b, 4, 8));
        assertEquals('x', b[16]);
    }

    @Test
    void payloadLengthLimit() {
        assertTrue(XenStoreMessage.isValidLength(0));
        assertTrue(XenStoreMessage.isValidLength(4096));
        assertFalse(XenStoreMessage.isValidLength(4097));
        assertFalse(XenStoreMessage.isValidLength(-1), "a u32 above 2^31 is huge, not negative");
    }

    @Test
    void stringsNeedATrailingNul() {
        assertEquals(List.of("a", "", "bc"), XenStoreMessage.ofStrings(0, 0, 0, "a", "", "bc").strings());
        assertNull(new XenStoreMessage(0, 0, 0, new byte[] {'a'}).strings());
        assertNull(new XenStoreMessage(0, 0, 0, new byte[0]).strings());
        assertEquals(List.of(""), new XenStoreMessage(0, 0, 0, new byte[] {0}).strings());
        assertEquals("OK", XenStoreMessage.ofStrings(0, 0, 0, "OK").text());
    }

    @Test
    void paths() {
        assertEquals("/local/domain/3/a", XenStorePath.canonical("a", 3, false));
        assertEquals("/x", XenStorePath.canonical("/x", 3, false));
        assertEquals("/", XenStorePath.canonical("/", 3, false));
        assertNull(XenStorePath.canonical("@releaseDomain", 3, false));
        assertEquals("@releaseDomain", XenStorePath.canonical("@releaseDomain", 3, true));
        assertNull(XenStorePath.canonical("@elsewhere", 3, true));
        assertEquals("/a/@b", XenStorePath.canonical("/a/@b", 0, false));
        assertEquals("/", XenStorePath.parent("/a"));
        assertEquals("/a", XenStorePath.parent("/a/b"));
        assertNull(XenStorePath.parent("/"));
        assertTrue(XenStorePath.isAncestorOrSelf("/", "/a"));
        assertTrue(XenStorePath.isAncestorOrSelf("/a", "/a"));
        assertTrue(XenStorePath.isAncestorOrSelf("/a", "/a/b"));
        assertFalse(XenStorePath.isAncestorOrSelf("/a", "/ab"));
        assertFalse(XenStorePath.isAncestorOrSelf("/a/b", "/a"));
        assertEquals("/local/domain/7", XenStorePath.domainPath(7));
    }

    @Test
    void permissionStrings() {
        XenStorePermissions p = XenStorePermissions.parse(List.of("n0", "r5", "w6", "b7"));
        assertEquals(List.of("n0", "r5", "w6", "b7"), p.format());
        assertEquals(0, p.owner());
        assertEquals(XenStorePermissions.NONE, p.defaultPermission());
        assertEquals(XenStorePermissions.READ, p.accessFor(5, -1));
        assertEquals(XenStorePermissions.WRITE, p.accessFor(6, -1));
        assertEquals(XenStorePermissions.BOTH, p.accessFor(7, -1));
        assertEquals(XenStorePermissions.NONE, p.accessFor(8, -1));
        assertEquals(XenStorePermissions.READ, p.accessFor(8, 5), "a device model has its target's rights");
        assertEquals(XenStorePermissions.READ | XenStorePermissions.WRITE | XenStorePermissions.OWNER,
                XenStorePermissions.of(9, XenStorePermissions.NONE).accessFor(9, -1));
        assertEquals(p, XenStorePermissions.of(0, XenStorePermissions.NONE).with(5, XenStorePermissions.READ)
                .with(6, XenStorePermissions.WRITE).with(7, XenStorePermissions.BOTH));
        assertEquals(List.of("r3"), XenStorePermissions.of(1, XenStorePermissions.READ).withOwner(3).format());
        assertNull(XenStorePermissions.parse(List.of()));
        assertThrows(IllegalArgumentException.class, () -> XenStorePermissions.of(-1, 0));
        assertThrows(IllegalArgumentException.class, () -> XenStorePermissions.of(1, 4));
    }
}
