using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace ModelDsl.Runtime;

/// <summary>
/// Parameter checkpoints in ModelDsl's own little-endian format (safetensors export comes later):
/// <code>
///  0  8   magic "MDLCKPT1"
///  8  4   u32 format version (1)
/// 12  8   i64 total file length in bytes, checksum included (catches truncation before anything else is read)
/// 20  ..  str model name; i64 optimizer step; i32 parameter count; then per parameter:
///         str name; i32 rank; i32 dims[rank]; i32 state count (0..2);
///         f32 value[n]; f32 state1[n] and f32 state2[n] as many as the state count says
/// end-4   u32 CRC-32C of every byte before it
/// str = i32 byte count + UTF-8 bytes
/// </code>
/// </summary>
public static partial class Checkpoint
{
    internal static ReadOnlySpan<byte> Magic => "MDLCKPT1"u8;
    internal const uint Version = 1;
    internal const int HeaderSize = 20;
    private const int MaxRank = 32;
    private const int MaxStringBytes = 1 << 20;

    /// <summary>
    /// The largest optimizer step a checkpoint may hold: a model at <see cref="int.MaxValue"/> could not take another
    /// step (the counter would wrap), so a file claiming it is refused on load rather than failing at the next step.
    /// </summary>
    public const int MaxStep = int.MaxValue - 1;

    /// <summary>
    /// Writes the checkpoint atomically: a temporary file in the same folder is written, flushed to disk and then
    /// renamed over <paramref name="path"/>, so a crash or error mid-write leaves the previous checkpoint intact
    /// (and the temporary file is deleted on error); links, permissions and non-files at the path are handled as
    /// <see cref="AtomicFile"/> says. Optimizer state is saved for parameters that have it.
    /// </summary>
    public static void Save(string path, string modelName, IReadOnlyList<Parameter> parameters, int optimizerStep)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(modelName);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentOutOfRangeException.ThrowIfNegative(optimizerStep);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(optimizerStep, MaxStep);
        var names = new HashSet<string>(StringComparer.Ordinal);
        long total = HeaderSize + StringSize(modelName) + 8 + 4 + 4;
        foreach (Parameter p in parameters)
        {
            ArgumentNullException.ThrowIfNull(p, nameof(parameters));
            if (!names.Add(p.Name))
                throw new ArgumentException($"Parameter '{p.Name}' appears twice; checkpoints match parameters by name.", nameof(parameters));
            total += StringSize(p.Name) + 4 + 4L * p.Shape.Length + 4 + 4L * p.Length * (1 + p.StateCount);
        }

        AtomicFile.Write(path, stream =>
        {
            var writer = new CheckpointWriter(stream);
            writer.WriteBytes(Magic);
            writer.WriteUInt32(Version);
            writer.WriteInt64(total);
            writer.WriteString(modelName);
            writer.WriteInt64(optimizerStep);
            writer.WriteInt32(parameters.Count);
            foreach (Parameter p in parameters)
            {
                writer.WriteString(p.Name);
                writer.WriteInt32(p.Shape.Length);
                foreach (int dim in p.Shape) writer.WriteInt32(dim);
                int states = p.StateCount;
                writer.WriteInt32(states);
                writer.WriteFloats(p.Value);
                if (states >= 1) writer.WriteFloats(p.State1.AsSpan(0, (int)p.Length));
                if (states >= 2) writer.WriteFloats(p.State2.AsSpan(0, (int)p.Length));
            }
            writer.WriteChecksum();
            if (writer.Position != total)
                throw new InvalidOperationException($"Checkpoint writer bug: wrote {writer.Position} bytes, expected {total}.");
        });
    }

    private static long StringSize(string text) => 4L + Encoding.UTF8.GetByteCount(text);
}
