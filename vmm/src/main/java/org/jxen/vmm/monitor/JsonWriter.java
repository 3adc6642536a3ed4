package org.jxen.vmm.monitor;

/**
 * A small JSON writer into a {@link StringBuilder}: objects, arrays, strings (escaped as RFC 8259
 * requires), numbers, booleans and null, with the commas placed for the caller. It checks nothing
 * about nesting beyond what it needs for commas: callers pair their begins and ends.
 *
 * <p>Threads: one thread at a time (it is a builder).
 */
final class JsonWriter {
    private final StringBuilder out = new StringBuilder(1024);
    /** Bit i set: the container at depth i already has a member, so the next one needs a comma. */
    private long hasMember;
    private int depth;
    /** True right after a name: the value that follows needs no comma. */
    private boolean afterName;

    JsonWriter beginObject() {
        value();
        out.append('{');
        push();
        return this;
    }

    JsonWriter endObject() {
        depth--;
        out.append('}');
        return this;
    }

    JsonWriter beginArray() {
        value();
        out.append('[');
        push();
        return this;
    }

    JsonWriter endArray() {
        depth--;
        out.append(']');
        return this;
    }

    JsonWriter name(String name) {
        value();
        string(name);
        out.append(':');
        afterName = true;
        return this;
    }

    JsonWriter value(String s) {
        value();
        if (s == null) {
            out.append("null");
        } else {
            string(s);
        }
        return this;
    }

    JsonWriter value(long v) {
        value();
        out.append(v);
        return this;
    }

    JsonWriter value(boolean v) {
        value();
        out.append(v);
        return this;
    }

    JsonWriter nullValue() {
        value();
        out.append("null");
        return this;
    }

    /** A member {@code name: v}, or {@code name: null} when {@code v} is negative (for "none"). */
    JsonWriter optional(String name, long v) {
        name(name);
        return v < 0 ? nullValue() : value(v);
    }

    @Override
    public String toString() {
        return out.toString();
    }

    private void push() {
        if (depth == 63) {
            throw new IllegalStateException("JSON nested too deeply");
        }
        depth++;
        hasMember &= ~(1L << depth);
    }

    /** Writes the comma that a new member or element needs. */
    private void value() {
        if (afterName) {
            afterName = false;
            return;
        }
        if (depth > 0) {
            if ((hasMember & (1L << depth)) != 0) {
                out.append(',');
            }
            hasMember |= 1L << depth;
        }
    }

    private void string(String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
