using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;

namespace ModelDsl.Runtime;

public static partial class Checkpoint
{
    /// <summary>
    /// Loads values (and optimizer state, where the file has it) into <paramref name="parameters"/> and returns the
    /// optimizer step. Everything is validated first — magic, version, length (truncation), checksum, model name,
    /// then every parameter's name, order and shape — and read into scratch buffers; the parameters change only
    /// once all of that has passed. A parameter whose file entry has no (or less) optimizer state gets that state
    /// zeroed, as a fresh optimizer would have it.
    /// </summary>
    /// <exception cref="InvalidDataException">
    /// Any mismatch or corruption; the message starts with <paramref name="path"/> and names the first problem:
    /// <c>fashion.ckpt: parameter 'logits.0.weight' has shape [128, 784] in the file but [256, 784] in FashionMlp</c>.
    /// </exception>
    public static int Load(string path, string modelName, IReadOnlyList<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(modelName);
        ArgumentNullException.ThrowIfNull(parameters);
        ThrowIfFolder(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        var reader = new CheckpointReader(stream, path);

        long fileLength = CheckHeader(reader, path);
        VerifyChecksum(stream, fileLength, path);

        // The bytes are intact: from here on a problem is a mismatch with the model (or a writer bug).
        reader.Seek(HeaderSize);
        string fileModel = reader.ReadString("the model name");
        if (fileModel != modelName)
            throw Fail(path, $"the checkpoint is of model '{fileModel}', not {modelName}");
        long step = reader.ReadInt64();
        if (step is < 0 or > MaxStep)
            throw Fail(path, $"optimizer step {step} is out of range (0 to {MaxStep}: a model at step {int.MaxValue} could not take another step)");
        int count = reader.ReadInt32();
        if (count < 0)
            throw Fail(path, $"malformed: parameter count {count}");

        var entries = new List<Entry>(Math.Min(count, 4096));
        for (int i = 0; i < count; i++)
        {
            string name = reader.ReadString($"the name of parameter {i}");
            int rank = reader.ReadInt32();
            if (rank is < 0 or > MaxRank)
                throw Fail(path, $"malformed: parameter '{name}' has rank {rank}");
            var shape = new int[rank];
            long length = 1;
            for (int d = 0; d < rank; d++)
            {
                shape[d] = reader.ReadInt32();
                if (shape[d] <= 0)
                    throw Fail(path, $"malformed: parameter '{name}' has shape {Shapes.Format(shape.AsSpan(0, d + 1))}");
                length = checked(length * shape[d]);
            }
            int states = reader.ReadInt32();
            if (states is < 0 or > 2)
                throw Fail(path, $"malformed: parameter '{name}' has {states} optimizer state buffers");
            entries.Add(new Entry(name, shape, states, reader.Position));
            reader.Skip(checked(4 * length * (1 + states)), $"the data of parameter '{name}'");
        }
        if (reader.Position != fileLength - 4)
            throw Fail(path, $"malformed: {fileLength - 4 - reader.Position} unexplained bytes before the checksum");

        CheckParameters(path, modelName, entries, parameters);

        // Read into scratch so a failure here (I/O error) still leaves the parameters untouched.
        var scratch = new float[entries.Count][][];
        for (int i = 0; i < entries.Count; i++)
        {
            reader.Seek(entries[i].DataOffset);
            int n = (int)parameters[i].Length;
            scratch[i] = new float[1 + entries[i].States][];
            for (int s = 0; s < scratch[i].Length; s++)
            {
                scratch[i][s] = new float[n];
                reader.ReadFloats(scratch[i][s]);
            }
        }

        for (int i = 0; i < entries.Count; i++)
        {
            Parameter p = parameters[i];
            float[][] data = scratch[i];
            data[0].CopyTo(p.Value, 0);
            p.MarkChanged();
            p.EnsureState(data.Length - 1);
            if (p.StateCount >= 1) CopyOrClear(data, 1, p.State1);
            if (p.StateCount >= 2) CopyOrClear(data, 2, p.State2);
        }
        return (int)step;
    }

    private static void CopyOrClear(float[][] data, int index, float[] state)
    {
        if (index < data.Length) data[index].CopyTo(state, 0);
        else Array.Clear(state);
    }

    private readonly record struct Entry(string Name, int[] Shape, int States, long DataOffset);

    /// <summary>Magic, version and declared length; returns the length.</summary>
    private static long CheckHeader(CheckpointReader reader, string path)
    {
        long actual = reader.Length;
        // Read the fixed header in one go: a short file must report truncation, not trip the structural checks.
        Span<byte> header = stackalloc byte[HeaderSize];
        int got = reader.ReadUpTo(header);
        int magicBytes = Math.Min(got, Magic.Length);
        if (!header[..magicBytes].SequenceEqual(Magic[..magicBytes]))
            throw Fail(path, $"not a ModelDsl checkpoint (it starts with {Describe(header[..magicBytes])}, expected \"MDLCKPT1\")");
        if (got < HeaderSize)
            throw Fail(path, $"truncated: the file has {actual} bytes, fewer than the {HeaderSize}-byte header");
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        if (version != Version)
            throw Fail(path, $"checkpoint format version {version} is not supported (this runtime reads version {Version})");
        long declared = BinaryPrimitives.ReadInt64LittleEndian(header[12..]);
        if (actual < declared)
            throw Fail(path, $"truncated: the file has {actual} bytes but its header says {declared}");
        if (actual > declared)
            throw Fail(path, $"the file has {actual} bytes but its header says {declared} (data appended, or a corrupt header)");
        if (declared < HeaderSize + 4)
            throw Fail(path, $"malformed: the header says the file has {declared} bytes");
        return declared;
    }

    private static void VerifyChecksum(FileStream stream, long fileLength, string path)
    {
        stream.Position = 0;
        byte[] buffer = new byte[1 << 20];
        uint crc = ~0u;
        long left = fileLength - 4;
        while (left > 0)
        {
            int n = (int)Math.Min(left, buffer.Length);
            stream.ReadExactly(buffer, 0, n);
            crc = Crc32C.Update(crc, buffer.AsSpan(0, n));
            left -= n;
        }
        stream.ReadExactly(buffer, 0, 4);
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(buffer);
        crc = ~crc;
        if (crc != stored)
            throw Fail(path, $"checksum mismatch (stored 0x{stored:X8}, computed 0x{crc:X8}): the file is corrupt");
    }

    /// <summary>Names, order, count and shapes against the model, reporting the first difference.</summary>
    private static void CheckParameters(string path, string modelName, List<Entry> entries, IReadOnlyList<Parameter> parameters)
    {
        var inModel = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < parameters.Count; i++) inModel.TryAdd(parameters[i].Name, i);
        var inFile = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < entries.Count; i++) inFile.TryAdd(entries[i].Name, i);

        int common = Math.Min(entries.Count, parameters.Count);
        for (int i = 0; i < common; i++)
        {
            Entry e = entries[i];
            Parameter p = parameters[i];
            if (e.Name != p.Name)
            {
                if (!inFile.TryGetValue(p.Name, out int fileIndex))
                    throw Fail(path, $"parameter '{p.Name}' of {modelName} is missing from the file" +
                        (inModel.ContainsKey(e.Name) ? "" : $" (the file has '{e.Name}' in its place)"));
                if (!inModel.ContainsKey(e.Name))
                    throw Fail(path, $"the file has parameter '{e.Name}', which {modelName} does not have");
                throw Fail(path, $"parameter '{p.Name}' is at position {fileIndex} in the file but {i} in {modelName}");
            }
            if (!e.Shape.AsSpan().SequenceEqual(p.Shape))
                throw Fail(path, $"parameter '{p.Name}' has shape {Shapes.Format(e.Shape)} in the file but {Shapes.Format(p.Shape)} in {modelName}");
        }
        if (parameters.Count > common)
            throw Fail(path, $"parameter '{parameters[common].Name}' of {modelName} is missing from the file");
        if (entries.Count > common)
            throw Fail(path, $"the file has parameter '{entries[common].Name}', which {modelName} does not have");
    }

    private static string Describe(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty) return "nothing: the file is empty";
        var text = new StringBuilder("\"");
        foreach (byte b in bytes) text.Append(b is >= 0x20 and < 0x7F && b != (byte)'"' ? (char)b : '?');
        return text.Append('"').ToString();
    }

    internal static InvalidDataException Fail(string path, string problem) => new($"{path}: {problem}");

    /// <summary>A folder given as a checkpoint: .NET would say "access denied", which sends the user after permissions.</summary>
    internal static void ThrowIfFolder(string path)
    {
        if (Directory.Exists(path))
            throw new IOException($"{path}: is a folder, not a checkpoint file");
    }
}

/// <summary>Little-endian reads with bounds checks that turn into <see cref="InvalidDataException"/>s naming the file.</summary>
internal sealed class CheckpointReader(FileStream stream, string path)
{
    private readonly byte[] _small = new byte[8];

    public long Length { get; } = stream.Length;

    public long Position => stream.Position;

    public void Seek(long position) => stream.Position = position;

    public int ReadUpTo(Span<byte> destination) => stream.ReadAtLeast(destination, destination.Length, throwOnEndOfStream: false);


    public int ReadInt32() => BinaryPrimitives.ReadInt32LittleEndian(Read(4, "a number"));

    public long ReadInt64() => BinaryPrimitives.ReadInt64LittleEndian(Read(8, "a number"));

    public string ReadString(string what)
    {
        int count = ReadInt32();
        if (count < 0 || count > (1 << 20))
            throw Checkpoint.Fail(path, $"malformed: {what} claims {count} bytes");
        Require(count, what);
        byte[] bytes = new byte[count];
        stream.ReadExactly(bytes);
        return Encoding.UTF8.GetString(bytes);
    }

    public void Skip(long count, string what)
    {
        Require(count, what);
        stream.Seek(count, SeekOrigin.Current);
    }

    public void ReadFloats(float[] destination)
    {
        Span<byte> bytes = MemoryMarshal.AsBytes(destination.AsSpan());
        Require(bytes.Length, "parameter data");
        stream.ReadExactly(bytes);
        if (!BitConverter.IsLittleEndian)
        {
            Span<int> bits = MemoryMarshal.Cast<float, int>(destination.AsSpan());
            BinaryPrimitives.ReverseEndianness(bits, bits);
        }
    }

    private ReadOnlySpan<byte> Read(int count, string what)
    {
        Require(count, what);
        stream.ReadExactly(_small, 0, count);
        return _small.AsSpan(0, count);
    }

    // The checksum occupies the last four bytes, so structure must end before it.
    private void Require(long count, string what)
    {
        if (stream.Position + count > Length - 4)
            throw Checkpoint.Fail(path, $"malformed: the file ends inside {what} (at byte {stream.Position})");
    }
}
