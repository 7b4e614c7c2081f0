using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace ModelDsl.Runtime.Tests.Checkpoints;

/// <summary>
/// Files are built byte by byte here from the format's definition (8-byte LE header length, JSON header, LE data),
/// never with <see cref="SafetensorsWriter"/>, so the reader is checked against the spec rather than against itself;
/// the writer's output is in turn read back with <see cref="MiniParser"/>, a few lines independent of the reader.
/// </summary>
public sealed class SafetensorsTests : IDisposable
{
    private const string Model = "FashionMlp";
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("mdlst-");

    public void Dispose() => _folder.Delete(recursive: true);

    private string PathOf(string name) => Path.Combine(_folder.FullName, name);

    private static Parameter P(string name, params int[] shape) => new(name, shape, "fashion_mlp.model:1");

    /// <summary>logits.0.weight [2, 3] and logits.0.bias [2], distinct values, optional optimizer state.</summary>
    private static List<Parameter> Tiny(float offset, int states = 0)
    {
        var list = new List<Parameter> { P("logits.0.weight", 2, 3), P("logits.0.bias", 2) };
        for (int k = 0; k < list.Count; k++)
        {
            Parameter p = list[k];
            p.EnsureState(states);
            for (int i = 0; i < p.Length; i++)
            {
                p.Value[i] = offset + k * 10 + i;
                if (states >= 1) p.State1[i] = -(offset + k * 10 + i);
                if (states >= 2) p.State2[i] = 0.25f * (offset + k * 10 + i);
            }
        }
        return list;
    }

    private static float[][] Snapshot(IEnumerable<Parameter> ps) =>
        ps.SelectMany(p => new[] { (float[])p.Value.Clone(), (float[])p.State1.Clone(), (float[])p.State2.Clone() }).ToArray();

    // ---- hand-built files -------------------------------------------------------------------------------------

    private static byte[] F32(params float[] values)
    {
        var bytes = new byte[4 * values.Length];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), values[i]);
        return bytes;
    }

    private static byte[] I32(params int[] values)
    {
        var bytes = new byte[4 * values.Length];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4 * i), values[i]);
        return bytes;
    }

    /// <summary>u64 LE header length, the header (optionally space-padded to 8), the data.</summary>
    private static byte[] Build(string header, byte[] data, bool pad = true)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        int n = pad ? (json.Length + 7) / 8 * 8 : json.Length;
        var file = new byte[8 + n + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)n);
        json.CopyTo(file, 8);
        file.AsSpan(8 + json.Length, n - json.Length).Fill((byte)' ');
        data.CopyTo(file, 8 + n);
        return file;
    }

    /// <summary>JSON written with single quotes for readability.</summary>
    private static string J(string text) => text.Replace('\'', '"');

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(b => b).ToArray();

    private static readonly float[] Bias = [0.5f, -1.5f];
    private static readonly float[] Weight = [1f, 2f, 3f, -4f, 5f, 6.25f];

    /// <summary>What PyTorch's save_file(state_dict) gives: keys sorted, only {"format": "pt"} as metadata, no step.</summary>
    private static readonly string TorchHeader =
        J("{'__metadata__':{'format':'pt'},'logits.0.bias':{'dtype':'F32','shape':[2],'data_offsets':[0,8]},") +
        J("'logits.0.weight':{'dtype':'F32','shape':[2,3],'data_offsets':[8,32]}}");

    private static byte[] TorchFile() => Build(TorchHeader, Concat(F32(Bias), F32(Weight)));

    /// <summary>A hand-built file with ModelDsl metadata: format 2 and its checksum added (<see cref="HandBuiltChecksum"/>).</summary>
    private static byte[] Signed(string header, byte[] data) => Build(HandBuiltChecksum.Sign(header, data), data);

    private string Write(byte[] bytes, string name = "fashion.safetensors")
    {
        string path = PathOf(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    // ---- loading hand-built files -----------------------------------------------------------------------------

    [Fact]
    public void A_parameters_only_file_like_pytorch_save_file_loads_with_step_0_and_state_zeroed()
    {
        var model = Tiny(9f, states: 2);
        int step = Safetensors.Load(Write(TorchFile()), Model, model);
        Assert.Equal(0, step);
        Assert.Equal(Weight, model[0].Value);
        Assert.Equal(Bias, model[1].Value);
        Assert.All(model, p => Assert.Equal(2, p.StateCount));
        Assert.All(model, p => Assert.All(p.State1.Concat(p.State2), x => Assert.Equal(0f, x)));
    }

    [Fact]
    public void A_hand_built_file_with_state_and_step_in_any_header_order_loads_exactly()
    {
        // Header order differs from data order and from model order; unpadded header; metadata last.
        string header =
            J("{'optimizer.state2.logits.0.weight':{'dtype':'F32','shape':[2,3],'data_offsets':[56,80]},") +
            J("'logits.0.weight':{'data_offsets':[8,32],'shape':[2,3],'dtype':'F32'},") +
            J("'optimizer.state1.logits.0.bias':{'dtype':'F32','shape':[2],'data_offsets':[80,88]},") +
            J("'logits.0.bias':{'dtype':'F32','shape':[2],'data_offsets':[0,8]},") +
            J("'optimizer.state1.logits.0.weight':{'dtype':'F32','shape':[2,3],'data_offsets':[32,56]},") +
            J("'__metadata__':{'modeldsl.step':'77','modeldsl.model':'FashionMlp','format':'pt'}}");
        float[] m = [0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f], v = [1e-3f, 2e-3f, 3e-3f, 4e-3f, 5e-3f, 6e-3f], mb = [-7f, 8f];
        byte[] data = Concat(F32(Bias), F32(Weight), F32(m), F32(v), F32(mb));
        byte[] bytes = Build(HandBuiltChecksum.Sign(header, data), data, pad: false);
        var model = Tiny(3f);
        Assert.Equal(77, Safetensors.Load(Write(bytes), Model, model));
        Assert.Equal(Weight, model[0].Value);
        Assert.Equal(m, model[0].State1);
        Assert.Equal(v, model[0].State2);
        Assert.Equal(Bias, model[1].Value);
        Assert.Equal(mb, model[1].State1);
        Assert.Equal(1, model[1].StateCount);             // as much state as the file has for it
        Assert.Empty(model[1].State2);
    }

    [Fact]
    public void The_reader_exposes_tensors_in_data_order_metadata_and_reads_F32_and_I32()
    {
        string header =
            J("{'b':{'dtype':'I32','shape':[3],'data_offsets':[8,20]},'a':{'dtype':'F32','shape':[2],'data_offsets':[0,8]},") +
            J("'scalar':{'dtype':'F32','shape':[],'data_offsets':[20,24]},'empty':{'dtype':'F32','shape':[0,4],'data_offsets':[24,24]},") +
            J("'__metadata__':{'k':'v'}}");
        byte[] bytes = Build(header, Concat(F32(1.5f, -2f), I32(7, -8, int.MaxValue), F32(42f)));
        using SafetensorsFile file = SafetensorsFile.Open(Write(bytes, "x.safetensors"));
        Assert.Equal(["a", "b", "scalar", "empty"], file.Tensors.Select(t => t.Name));
        Assert.Equal("v", file.Metadata["k"]);
        Assert.Equal([1.5f, -2f], file.ReadSingles("a"));
        Assert.Equal([7, -8, int.MaxValue], file.ReadInt32s("b"));
        Assert.Equal([42f], file.ReadSingles("scalar"));
        Assert.Empty(file.ReadSingles("empty"));
        Assert.Equal(SafetensorsDType.I32, file["b"].DType);
        Assert.Equal(0, file.DataStart % 8);
        var e = Assert.Throws<InvalidDataException>(() => file.ReadSingles("b"));
        Assert.Equal($"{file.Path}: tensor 'b' has dtype I32, not F32", e.Message);
    }

    [Fact]
    public void Other_dtypes_parse_but_reading_them_says_unsupported()
    {
        string header = J("{'h':{'dtype':'BF16','shape':[3],'data_offsets':[0,6]},'d':{'dtype':'F64','shape':[1],'data_offsets':[6,14]}}");
        using SafetensorsFile file = SafetensorsFile.Open(Write(Build(header, new byte[14]), "x.safetensors"));
        Assert.Equal(SafetensorsDType.BF16, file["h"].DType);
        var e = Assert.Throws<InvalidDataException>(() => file.ReadSingles("h"));
        Assert.Equal($"{file.Path}: tensor 'h' has unsupported dtype BF16 (ModelDsl reads F32, I32 and I64)", e.Message);
    }

    /// <summary>Written by Fixtures/make_fixture.py (Python standard library only, laid out like safetensors.torch.save_file).</summary>
    [Fact]
    public void The_python_written_fixture_loads()
    {
        string fixture = Path.Combine(SourceFolder(), "Fixtures", "pytorch_like.safetensors");
        var model = Tiny(0f, states: 1);
        Assert.Equal(0, Safetensors.Load(fixture, Model, model));
        Assert.Equal([0.5f, -1f, 2f, 0.25f, 3f, -0.125f], model[0].Value);   // [out, in], row-major, as nn.Linear
        Assert.Equal([1.5f, -2.5f], model[1].Value);
        Assert.All(model, p => Assert.All(p.State1, x => Assert.Equal(0f, x)));
    }

    private static string SourceFolder([CallerFilePath] string file = "") => Path.GetDirectoryName(file)!;

    // ---- the writer, read independently ------------------------------------------------------------------------

    /// <summary>A minimal safetensors parser written from the spec: returns metadata and name → (dtype, shape, floats).</summary>
    private static (Dictionary<string, string> Meta, List<(string Name, string DType, int[] Shape, long Begin, float[] Data)> Tensors) MiniParser(byte[] file)
    {
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(file);
        Assert.Equal(0, (8 + n) % 8);
        string header = Encoding.UTF8.GetString(file, 8, (int)n);
        Assert.Equal(header.TrimEnd(' ').Length, header.TrimEnd().Length);
        using var doc = JsonDocument.Parse(header);
        var meta = new Dictionary<string, string>();
        var tensors = new List<(string, string, int[], long, float[])>();
        foreach (JsonProperty e in doc.RootElement.EnumerateObject())
        {
            if (e.Name == "__metadata__")
            {
                foreach (JsonProperty m in e.Value.EnumerateObject()) meta[m.Name] = m.Value.GetString()!;
                continue;
            }
            long begin = e.Value.GetProperty("data_offsets")[0].GetInt64(), end = e.Value.GetProperty("data_offsets")[1].GetInt64();
            var data = new float[(end - begin) / 4];
            for (int i = 0; i < data.Length; i++)
                data[i] = BinaryPrimitives.ReadSingleLittleEndian(file.AsSpan((int)(8 + n + begin + 4 * i)));
            tensors.Add((e.Name, e.Value.GetProperty("dtype").GetString()!,
                e.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray(), begin, data));
        }
        Assert.Equal(file.Length - 8 - n, tensors.Sum(t => 4L * t.Item5.Length));
        return (meta, tensors);
    }

    [Fact]
    public void The_writer_output_is_the_documented_layout()
    {
        string path = PathOf("fashion.safetensors");
        var model = Tiny(1f, states: 2);
        model[1] = P("logits.0.bias", 2);                      // no state for this one
        model[1].Value[0] = 0.5f; model[1].Value[1] = -1.5f;
        Safetensors.Save(path, Model, model, optimizerStep: 1234);
        byte[] bytes = File.ReadAllBytes(path);

        long headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        // The documented canonical header text, written out: the checksum covers it, then the data section.
        string canonical =
            "modeldsl-checkpoint-header 2\n" +
            "metadata 4\n6:format=2:pt\n15:modeldsl.format=1:2\n14:modeldsl.model=10:FashionMlp\n13:modeldsl.step=4:1234\n" +
            "tensors 4\n15:logits.0.weight F32 [2,3] 0 24\n13:logits.0.bias F32 [2] 24 32\n" +
            "32:optimizer.state1.logits.0.weight F32 [2,3] 32 56\n32:optimizer.state2.logits.0.weight F32 [2,3] 56 80\n";
        string crc = HandBuiltChecksum.BitwiseCrc32C([.. Encoding.UTF8.GetBytes(canonical), .. bytes.AsSpan(8 + (int)headerLength)])
            .ToString("x8", System.Globalization.CultureInfo.InvariantCulture);
        string expected =
            J("{'__metadata__':{'format':'pt','modeldsl.crc32c':'" + crc + "','modeldsl.format':'2','modeldsl.model':'FashionMlp','modeldsl.step':'1234'},") +
            J("'logits.0.weight':{'dtype':'F32','shape':[2,3],'data_offsets':[0,24]},") +
            J("'logits.0.bias':{'dtype':'F32','shape':[2],'data_offsets':[24,32]},") +
            J("'optimizer.state1.logits.0.weight':{'dtype':'F32','shape':[2,3],'data_offsets':[32,56]},") +
            J("'optimizer.state2.logits.0.weight':{'dtype':'F32','shape':[2,3],'data_offsets':[56,80]}}");
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(expected, Encoding.UTF8.GetString(bytes, 8, (int)n).TrimEnd(' '));
        Assert.Equal(canonical, HandBuiltChecksum.Canonical(expected));

        var (meta, tensors) = MiniParser(bytes);
        Assert.Equal("pt", meta["format"]);
        Assert.Equal("FashionMlp", meta["modeldsl.model"]);
        Assert.Equal("1234", meta["modeldsl.step"]);
        Assert.Equal(["logits.0.weight", "logits.0.bias", "optimizer.state1.logits.0.weight", "optimizer.state2.logits.0.weight"],
            tensors.Select(t => t.Name));
        Assert.All(tensors, t => Assert.Equal("F32", t.DType));
        Assert.Equal(model[0].Value, tensors[0].Data);
        Assert.Equal([2, 3], tensors[0].Shape);
        Assert.Equal([0.5f, -1.5f], tensors[1].Data);
        Assert.Equal(model[0].State1, tensors[2].Data);
        Assert.Equal(model[0].State2, tensors[3].Data);
    }

    [Fact]
    public void A_flipped_bit_in_the_tensor_data_fails_the_checksum_and_changes_nothing()
    {
        string path = PathOf("flipped.safetensors");
        Safetensors.Save(path, Model, Tiny(3f, states: 2), optimizerStep: 7);
        byte[] bytes = File.ReadAllBytes(path);
        bytes[^5] ^= 0x01; // inside the last tensor's data: the header stays valid
        File.WriteAllBytes(path, bytes);

        var target = Tiny(9f, states: 2);
        var before = target.Select(p => p.Value.ToArray()).ToList();
        var e = Assert.Throws<InvalidDataException>(() => Safetensors.Load(path, Model, target));
        Assert.Contains("does not match its checksum", e.Message, StringComparison.Ordinal);
        Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
        Assert.All(target.Zip(before), pair => Assert.Equal(pair.Second, pair.First.Value));
    }

    [Fact]
    public void Writing_is_deterministic()
    {
        Safetensors.Save(PathOf("a.safetensors"), Model, Tiny(2f, 1), 5);
        Safetensors.Save(PathOf("b.safetensors"), Model, Tiny(2f, 1), 5);
        Assert.Equal(File.ReadAllBytes(PathOf("a.safetensors")), File.ReadAllBytes(PathOf("b.safetensors")));
    }

    [Fact]
    public void Writer_escapes_names_and_metadata_into_valid_json()
    {
        var writer = new SafetensorsWriter();
        writer.SetMetadata("note", "quote \" backslash \\ newline \n é");
        writer.AddSingles("weird \"name\" é", [1], new float[] { 3f });
        writer.AddInt32s("ints", [2], new[] { 1, -2 });
        string path = PathOf("w.safetensors");
        writer.Save(path);
        using SafetensorsFile file = SafetensorsFile.Open(path);
        Assert.Equal("quote \" backslash \\ newline \n é", file.Metadata["note"]);
        Assert.Equal([3f], file.ReadSingles("weird \"name\" é"));
        Assert.Equal([1, -2], file.ReadInt32s("ints"));
    }

    // ---- round trips -------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void Round_trip_restores_values_state_and_step(int states)
    {
        string path = PathOf("fashion.safetensors");
        Safetensors.Save(path, Model, Tiny(1f, states), optimizerStep: 4321);
        var loaded = Tiny(50f);
        Assert.Equal(4321, Safetensors.Load(path, Model, loaded));
        Assert.Equal(Snapshot(Tiny(1f, states)), Snapshot(loaded));
        Assert.Single(Directory.GetFiles(_folder.FullName));
    }

    [Fact]
    public void Round_trip_keeps_every_float_bit_pattern()
    {
        var p = P("w", 8);
        float[] specials = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0f, float.Epsilon, float.MaxValue, 1e-40f, BitConverter.Int32BitsToSingle(0x7FC00123)];
        specials.CopyTo(p.Value, 0);
        string path = PathOf("bits.safetensors");
        Safetensors.Save(path, "M", [p], 0);
        var q = P("w", 8);
        Safetensors.Load(path, "M", [q]);
        Assert.Equal(specials.Select(BitConverter.SingleToInt32Bits), q.Value.Select(BitConverter.SingleToInt32Bits));
    }

    // ---- corruption and mismatches: exact message, parameters untouched --------------------------------------

    private static void LoadFails(string path, string problem, List<Parameter>? into = null, string model = Model, bool prefix = false)
    {
        into ??= Tiny(7f, states: 2);
        float[][] before = Snapshot(into);
        var e = Assert.Throws<InvalidDataException>(() => Safetensors.Load(path, model, into));
        if (prefix) Assert.StartsWith($"{path}: {problem}", e.Message);
        else Assert.Equal($"{path}: {problem}", e.Message);
        Assert.Equal(before, Snapshot(into));
    }

    [Fact]
    public void Truncation_anywhere_is_reported_and_changes_nothing()
    {
        byte[] full = TorchFile();
        int n = (int)BinaryPrimitives.ReadUInt64LittleEndian(full);
        Assert.Equal(8 + n + 32, full.Length);
        var cases = new (int Keep, string Problem)[]
        {
            (0, "truncated: the file has 0 bytes, fewer than the 8-byte header length"),
            (3, "truncated: the file has 3 bytes, fewer than the 8-byte header length"),
            (7, "truncated: the file has 7 bytes, fewer than the 8-byte header length"),
            (8, $"truncated: the header length says {n} bytes but only 0 follow it"),
            (9, $"truncated: the header length says {n} bytes but only 1 follow it"),
            (8 + n / 2, $"truncated: the header length says {n} bytes but only {n / 2} follow it"),
            (8 + n - 1, $"truncated: the header length says {n} bytes but only {n - 1} follow it"),
            (8 + n, "truncated: the tensors need 32 data bytes but the file has only 0 after the header ('logits.0.weight' ends at 32)"),
            (8 + n + 5, "truncated: the tensors need 32 data bytes but the file has only 5 after the header ('logits.0.weight' ends at 32)"),
            (full.Length - 1, "truncated: the tensors need 32 data bytes but the file has only 31 after the header ('logits.0.weight' ends at 32)"),
        };
        foreach ((int keep, string problem) in cases)
            LoadFails(Write(full[..keep], $"cut{keep}.safetensors"), problem);
    }

    [Fact]
    public void Header_length_beyond_the_limit_is_reported()
    {
        byte[] bytes = TorchFile();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1UL << 40);
        LoadFails(Write(bytes), "not a safetensors file, or a corrupt one: its first 8 bytes (0x0000000000010000) give a header length of " +
            $"1099511627776 bytes, more than the whole file ({bytes.Length} bytes)");
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue);
        LoadFails(Write(bytes), "not a safetensors file, or a corrupt one: its first 8 bytes (0xFFFFFFFFFFFFFFFF) give a header length of " +
            $"{ulong.MaxValue} bytes, more than the whole file ({bytes.Length} bytes)");
        // Text where a binary length belongs reads as text: what the file starts with says what it is.
        LoadFails(Write([.. "PK\u0003\u0004zip!"u8, .. new byte[16]]),
            "not a safetensors file, or a corrupt one: its first 8 bytes (0x504B03047A697021) give a header length of " +
            "2409541773417466704 bytes, more than the whole file (24 bytes)");
    }

    [Fact]
    public void Header_length_within_the_limit_but_beyond_the_file_is_truncation()
    {
        byte[] bytes = TorchFile();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)bytes.Length);
        LoadFails(Write(bytes), $"truncated: the header length says {bytes.Length} bytes but only {bytes.Length - 8} follow it");
    }

    [Fact]
    public void Invalid_json_is_reported()
    {
        LoadFails(Write(Build(J("{'logits.0.bias': {'dtype': 'F32',"), [])), "the header is not valid JSON: ", prefix: true);
        LoadFails(Write(Build(J("{'a':1} trailing"), [])), "the header is not valid JSON: ", prefix: true);
        LoadFails(Write(Build("[1, 2]", [])), "the header does not start with '{' (byte 0x5B): not a safetensors file, or a corrupt one");
        byte[] badUtf8 = Build(J("{'x':'??'}"), []);
        badUtf8[14] = 0xFF; badUtf8[15] = 0xFE;
        LoadFails(Write(badUtf8), "the header is not valid UTF-8 (at header byte 6)");
    }

    private static string Bias2(string dtype = "F32", string shape = "[2]", string offsets = "[0,8]") =>
        J("{'logits.0.bias':{'dtype':'") + dtype + J("','shape':") + shape + J(",'data_offsets':") + offsets + "},";

    private static readonly string Weight23 = J("'logits.0.weight':{'dtype':'F32','shape':[2,3],'data_offsets':[8,32]}}");

    [Fact]
    public void Structural_errors_in_entries_are_reported()
    {
        byte[] data = Concat(F32(Bias), F32(Weight));
        (string Header, byte[] Data, string Problem)[] cases =
        [
            (Bias2(dtype: "F33") + Weight23, data, "tensor 'logits.0.bias' has unknown dtype \"F33\""),
            (Bias2(dtype: "f32") + Weight23, data, "tensor 'logits.0.bias' has unknown dtype \"f32\""),
            (Bias2(dtype: "F4") + Weight23, data, "tensor 'logits.0.bias' has unsupported dtype F4 (a sub-byte type; ModelDsl reads F32 and I32)"),
            (Bias2(shape: "[3]") + Weight23, data, "tensor 'logits.0.bias': F32 [3] needs 12 bytes but data_offsets [0, 8] span 8"),
            (Bias2(shape: "[-2]") + Weight23, data, "tensor 'logits.0.bias': shape dimension 0 is -2, negative"),
            (Bias2(shape: "[2.5]") + Weight23, data, "tensor 'logits.0.bias': shape dimension 0 is 2.5, not an integer"),
            (Bias2(shape: "\"2\"") + Weight23, data, "tensor 'logits.0.bias': \"shape\" is a JSON string, not an array"),
            (Bias2(offsets: "[8,0]") + Weight23, data, "tensor 'logits.0.bias': data_offsets [8, 0] end before they begin"),
            (Bias2(offsets: "[-8,0]") + Weight23, data, "tensor 'logits.0.bias': data_offsets begin is -8, not a non-negative integer"),
            (Bias2(offsets: "[0]") + Weight23, data, "tensor 'logits.0.bias': \"data_offsets\" is [0], not an array [begin, end]"),
            (Bias2(offsets: "[0,4]") + Weight23, data, "tensor 'logits.0.bias': F32 [2] needs 8 bytes but data_offsets [0, 4] span 4"),
            (J("{'logits.0.bias':{'dtype':'F32','shape':[2]},") + Weight23, data, "tensor 'logits.0.bias' has no \"data_offsets\""),
            (J("{'logits.0.bias':[1],") + Weight23, data, "tensor 'logits.0.bias': its entry is a JSON array, not an object"),
            (Bias2() + Weight23.Replace("}}", "},") + Bias2()[1..^1] + "}", data, "the header has tensor 'logits.0.bias' twice"),
            (J("{'__metadata__':{'format':1},") + Bias2()[1..] + Weight23, data, "'__metadata__' entry 'format' is a JSON number, not a string"),
            (J("{'__metadata__':[],") + Bias2()[1..] + Weight23, data, "'__metadata__' is a JSON array, not an object of strings"),
        ];
        foreach ((string header, byte[] bytes, string problem) in cases)
            LoadFails(Write(Build(header, bytes)), problem);
    }

    [Fact]
    public void A_bf16_f16_or_i32_parameter_is_refused_by_dtype()
    {
        LoadFails(Write(Build(Bias2(dtype: "F16", offsets: "[0,4]") + Weight23.Replace("[8,32]", "[4,28]"), new byte[28])),
            "tensor 'logits.0.bias' has dtype F16 in the file but F32 in FashionMlp (unsupported dtype F16: convert it to float32 first)");
        LoadFails(Write(Build(Bias2(dtype: "I32") + Weight23, new byte[32])),
            "tensor 'logits.0.bias' has dtype I32 in the file but F32 in FashionMlp");
        string header = Bias2(dtype: "BF16", offsets: "[0,4]") + Weight23.Replace("[8,32]", "[4,28]");
        LoadFails(Write(Build(header, new byte[28])),
            "tensor 'logits.0.bias' has dtype BF16 in the file but F32 in FashionMlp (unsupported dtype BF16: convert it to float32 first)");
    }

    [Fact]
    public void Overlaps_gaps_and_leftover_bytes_are_reported()
    {
        LoadFails(Write(Build(Bias2() + Weight23.Replace("[8,32]", "[4,28]"), new byte[28])),
            "tensors 'logits.0.bias' [0, 8) and 'logits.0.weight' [4, 28) overlap");
        LoadFails(Write(Build(Bias2() + Weight23.Replace("[8,32]", "[0,24]"), new byte[24])),
            "tensors 'logits.0.bias' [0, 8) and 'logits.0.weight' [0, 24) overlap");
        LoadFails(Write(Build(Bias2() + Weight23.Replace("[8,32]", "[12,36]"), new byte[36])),
            "bytes [8, 12) of the data section belong to no tensor (a gap before 'logits.0.weight')");
        LoadFails(Write(Build(Bias2(offsets: "[4,12]") + Weight23.Replace("[8,32]", "[12,36]"), new byte[36])),
            "bytes [0, 4) of the data section belong to no tensor (a gap before 'logits.0.bias')");
        LoadFails(Write(Build(TorchHeader, new byte[36])),
            "the file has 4 bytes after the last tensor's data that belong to no tensor");
    }

    [Fact]
    public void Model_mismatches_name_the_first_problem()
    {
        byte[] data = Concat(F32(Bias), F32(Weight));
        LoadFails(Write(Build(TorchHeader.Replace("\"logits.0.bias\"", "\"logits.0.biass\""), data)),
            "tensor 'logits.0.bias' of FashionMlp is missing from the file (the file has 'logits.0.biass', which FashionMlp does not have)");
        LoadFails(Write(Build(J("{'logits.0.weight':{'dtype':'F32','shape':[2,3],'data_offsets':[0,24]}}"), F32(Weight))),
            "tensor 'logits.0.bias' of FashionMlp is missing from the file");
        LoadFails(Write(Build(TorchHeader.Replace("}}", J("},'extra':{'dtype':'F32','shape':[1],'data_offsets':[32,36]}}")), Concat(data, F32(1f)))),
            "the file has tensor 'extra', which FashionMlp does not have");
        LoadFails(Write(Build(TorchHeader.Replace("[2,3]", "[3,2]"), data)),
            "tensor 'logits.0.weight' has shape [3, 2] in the file but [2, 3] in FashionMlp");
        LoadFails(Write(Build(TorchHeader.Replace("[2,3]", "[6]"), data)),
            "tensor 'logits.0.weight' has shape [6] in the file but [2, 3] in FashionMlp");
        LoadFails(Write(Signed(TorchHeader.Replace("\"pt\"", "\"pt\",\"modeldsl.model\":\"OtherNet\""), data)),
            "the checkpoint is of model 'OtherNet', not FashionMlp");
        LoadFails(Write(Signed(TorchHeader.Replace("\"pt\"", "\"pt\",\"modeldsl.step\":\"-1\""), data)),
            "__metadata__ 'modeldsl.step' is \"-1\", not an optimizer step (a non-negative integer)");
        LoadFails(Write(Signed(TorchHeader.Replace("\"pt\"", "\"pt\",\"modeldsl.step\":\"99999999999\""), data)),
            "__metadata__ 'modeldsl.step' is \"99999999999\", not an optimizer step (a non-negative integer)");
    }

    [Fact]
    public void The_example_message_from_the_brief()
    {
        var big = new List<Parameter> { P("logits.0.weight", 256, 784) };
        string header = J("{'logits.0.weight':{'dtype':'F32','shape':[128,784],'data_offsets':[0,401408]}}");
        LoadFails(Write(Build(header, new byte[401408])),
            "tensor 'logits.0.weight' has shape [128, 784] in the file but [256, 784] in FashionMlp", into: big);
    }

    [Fact]
    public void Optimizer_state_mismatches_are_reported()
    {
        byte[] data = Concat(F32(Bias), F32(Weight));
        LoadFails(Write(Build(TorchHeader.Replace("}}", J("},'optimizer.state1.logits.0.bias':{'dtype':'F32','shape':[1],'data_offsets':[32,36]}}")), Concat(data, F32(1f)))),
            "tensor 'optimizer.state1.logits.0.bias' has shape [1] in the file but [2] in FashionMlp");
        LoadFails(Write(Build(TorchHeader.Replace("}}", J("},'optimizer.state2.logits.0.bias':{'dtype':'F32','shape':[2],'data_offsets':[32,40]}}")), Concat(data, F32(1f, 2f)))),
            "the file has 'optimizer.state2.logits.0.bias' but not 'optimizer.state1.logits.0.bias' (state2 needs state1)");
        LoadFails(Write(Build(TorchHeader.Replace("}}", J("},'optimizer.state1.nope':{'dtype':'F32','shape':[2],'data_offsets':[32,40]}}")), Concat(data, F32(1f, 2f)))),
            "the file has tensor 'optimizer.state1.nope', which FashionMlp does not have");
    }

    // ---- atomic writes -----------------------------------------------------------------------------------------

    /// <summary>Fails (like a full disk) once <paramref name="limit"/> bytes have gone through.</summary>
    private sealed class FailingStream(Stream inner, long limit) : Stream
    {
        private long _written;
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _written; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (_written + buffer.Length > limit)
            {
                inner.Write(buffer[..(int)(limit - _written)]);
                throw new IOException("simulated: no space left on device");
            }
            inner.Write(buffer);
            _written += buffer.Length;
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(100)]
    [InlineData(200)]
    public void A_failure_mid_write_leaves_the_old_file_and_no_temporary_file(int failAfter)
    {
        string path = PathOf("fashion.safetensors");
        Safetensors.Save(path, Model, Tiny(1f, 2), 10);
        byte[] old = File.ReadAllBytes(path);
        SafetensorsWriter writer = Safetensors.Build(Model, Tiny(99f, 2), 11);
        var e = Assert.Throws<IOException>(() => writer.Save(path, s => new FailingStream(s, failAfter)));
        Assert.Equal($"{path}: cannot save: simulated: no space left on device", e.Message);   // the target, not the temporary file
        Assert.Equal(old, File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(_folder.FullName));
    }

    [Fact]
    public void A_failed_rename_removes_the_temporary_file()
    {
        string path = PathOf("occupied");
        Directory.CreateDirectory(path);   // a folder where the file should go: the final move fails
        Assert.ThrowsAny<Exception>(() => Safetensors.Save(path, Model, Tiny(1f), 1));
        Assert.Empty(Directory.GetFiles(_folder.FullName));
    }

    [Fact]
    public void Saving_again_replaces_the_file()
    {
        string path = PathOf("fashion.safetensors");
        Safetensors.Save(path, Model, Tiny(1f, 2), 3);
        Safetensors.Save(path, Model, Tiny(40f), 9);
        var loaded = Tiny(0f, 2);
        Assert.Equal(9, Safetensors.Load(path, Model, loaded));
        Assert.Equal(40f, loaded[0].Value[0]);
        Assert.All(loaded, p => Assert.All(p.State1, x => Assert.Equal(0f, x)));
        Assert.Single(Directory.GetFiles(_folder.FullName));
    }

    [Fact]
    public void Names_that_collide_are_refused_before_writing()
    {
        string path = PathOf("dup.safetensors");
        Assert.Throws<ArgumentException>(() => Safetensors.Save(path, Model, [P("w", 2), P("w", 2)], 0));
        var state = P("w", 2);
        state.EnsureState(1);
        Assert.Throws<ArgumentException>(() => Safetensors.Save(path, Model, [state, P("optimizer.state1.w", 2)], 0));
        Assert.Throws<ArgumentException>(() => Safetensors.Save(path, Model, [P("__metadata__", 2)], 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Safetensors.Save(path, Model, [P("w", 2)], -1));
        Assert.Empty(Directory.GetFiles(_folder.FullName));
    }

    [Fact]
    public void A_missing_file_is_a_file_not_found_error()
    {
        Assert.Throws<FileNotFoundException>(() => Safetensors.Load(PathOf("nope.safetensors"), Model, Tiny(0f)));
    }

    [Fact]
    public void The_learning_rate_is_recorded_and_given_back_and_a_bad_one_is_refused_before_anything_changes()
    {
        string path = PathOf("lr.safetensors");
        Safetensors.Save(path, Model, Tiny(1), optimizerStep: 7, learningRate: 2.5e-4f);
        var loaded = Tiny(50);
        Assert.Equal(7, Safetensors.Load(path, Model, loaded, out float? rate));
        Assert.Equal(2.5e-4f, rate);

        // A file without the key (PyTorch's, or saved without a rate) gives null: the caller keeps its rate.
        string plain = PathOf("plain.safetensors");
        Safetensors.Save(plain, Model, Tiny(1), optimizerStep: 3);
        Safetensors.Load(plain, Model, Tiny(50), out float? none);
        Assert.Null(none);

        Assert.Throws<ArgumentOutOfRangeException>(() => Safetensors.Save(path, Model, Tiny(1), 1, float.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => Safetensors.Save(path, Model, Tiny(1), 1, -1f));

        // A recorded rate that is not a positive finite number (written with a valid checksum) fails the load untouched.
        string bad = PathOf("bad.safetensors");
        var writer = Safetensors.Build(Model, Tiny(1), 2);
        writer.SetMetadata(Safetensors.LearningRateKey, "-0.5");
        writer.SetMetadata(Safetensors.ChecksumKey, SafetensorsChecksum.Of(writer).ToString("x8", System.Globalization.CultureInfo.InvariantCulture));
        writer.Save(bad);
        var untouched = Tiny(50);
        var error = Assert.Throws<InvalidDataException>(() => Safetensors.Load(bad, Model, untouched, out _));
        Assert.Contains("modeldsl.learning_rate", error.Message);
        Assert.Equal(50f, untouched[0].Value[0]);
    }
    [Fact]
    public void A_schedule_s_total_steps_is_recorded_and_given_back_and_a_bad_one_is_refused_before_anything_changes()
    {
        string path = PathOf("total.safetensors");
        Safetensors.Save(path, Model, Tiny(1), Array.Empty<StateBuffer>(), optimizerStep: 7, learningRate: 1e-3f, totalSteps: 1200);
        Assert.Equal(7, Safetensors.Load(path, Model, Tiny(50), Array.Empty<StateBuffer>(), out float? rate, out int? total));
        Assert.Equal((1e-3f, 1200), (rate, total));

        // Without the key (a model whose .model gives steps=, or a file from PyTorch): null, the caller keeps its value.
        string plain = PathOf("no-total.safetensors");
        Safetensors.Save(plain, Model, Tiny(1), optimizerStep: 3, learningRate: 1e-3f);
        Safetensors.Load(plain, Model, Tiny(50), Array.Empty<StateBuffer>(), out _, out int? none);
        Assert.Null(none);

        Assert.Throws<ArgumentOutOfRangeException>(() => Safetensors.Save(path, Model, Tiny(1), Array.Empty<StateBuffer>(), 1, null, totalSteps: 0));

        foreach (string text in new[] { "0", "-5", "12.5", "many" })
        {
            string bad = PathOf("bad-total.safetensors");
            var writer = Safetensors.Build(Model, Tiny(1), 2);
            writer.SetMetadata(Safetensors.TotalStepsKey, text);
            writer.SetMetadata(Safetensors.ChecksumKey, SafetensorsChecksum.Of(writer).ToString("x8", System.Globalization.CultureInfo.InvariantCulture));
            writer.Save(bad);
            var untouched = Tiny(50);
            var error = Assert.Throws<InvalidDataException>(() => Safetensors.Load(bad, Model, untouched, Array.Empty<StateBuffer>(), out _, out _));
            Assert.Contains($"'modeldsl.total_steps' is \"{text}\", not a schedule's total steps", error.Message);
            Assert.Equal(50f, untouched[0].Value[0]);
        }
    }
}
