using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;

namespace ModelDsl.Runtime.Tests.Checkpoints;

/// <summary>
/// Issue 17, items 8 and 11: the checksum covers the header (metadata, names, shapes, offsets) as well as the data;
/// ModelDsl metadata without a checksum is corruption; the step is range-checked; older files still load; a file
/// that is not safetensors, or a folder, is named as such.
/// </summary>
public sealed class SafetensorsIntegrityTests : IDisposable
{
    private const string Model = "FashionMlp";
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("mdlsti-");

    public void Dispose() => _folder.Delete(recursive: true);

    private string PathOf(string name) => Path.Combine(_folder.FullName, name);

    private static Parameter P(string name, params int[] shape) => new(name, shape, "fashion_mlp.model:1");

    private static List<Parameter> Tiny(float offset, int states = 0)
    {
        var list = new List<Parameter> { P("logits.0.weight", 2, 3), P("logits.0.bias", 2) };
        for (int k = 0; k < list.Count; k++)
        {
            list[k].EnsureState(states);
            for (int i = 0; i < list[k].Length; i++)
            {
                list[k].Value[i] = offset + k * 10 + i;
                if (states >= 1) list[k].State1[i] = -(offset + i);
                if (states >= 2) list[k].State2[i] = 0.5f * (offset + i);
            }
        }
        return list;
    }

    private static float[][] Snapshot(IEnumerable<Parameter> ps) =>
        ps.SelectMany(p => new[] { (float[])p.Value.Clone(), (float[])p.State1.Clone(), (float[])p.State2.Clone() }).ToArray();

    private string Saved(int step = 1234, string name = "fashion.safetensors")
    {
        string path = PathOf(name);
        Safetensors.Save(path, Model, Tiny(1f, states: 2), step);
        return path;
    }

    private static int HeaderEnd(byte[] file) => 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(file);

    /// <summary>Replaces the first occurrence of <paramref name="from"/> in the header with a string of equal length.</summary>
    private static byte[] EditHeader(byte[] file, string from, string to)
    {
        Assert.Equal(from.Length, to.Length);
        string header = Encoding.UTF8.GetString(file, 8, HeaderEnd(file) - 8);
        int at = header.IndexOf(from, StringComparison.Ordinal);
        Assert.True(at >= 0, $"'{from}' is not in the header {header}");
        byte[] copy = (byte[])file.Clone();
        Encoding.UTF8.GetBytes(to).CopyTo(copy, 8 + at);
        return copy;
    }

    private string Write(byte[] bytes, string name)
    {
        string path = PathOf(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static InvalidDataException LoadFails(string path)
    {
        var into = Tiny(7f, states: 2);
        float[][] before = Snapshot(into);
        var e = Assert.Throws<InvalidDataException>(() => Safetensors.Load(path, Model, into));
        Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot(into));
        return e;
    }

    [Fact]
    public void A_flipped_bit_in_the_step_value_is_refused_not_loaded_as_another_step()
    {
        byte[] file = File.ReadAllBytes(Saved(step: 1234));
        // '4' (0x34) → '5' (0x35): one bit, still a valid step. Before: loaded as step 1235 (format 1 covered the data only).
        var e = LoadFails(Write(EditHeader(file, "\"1234\"", "\"1235\""), "step.safetensors"));
        Assert.Contains("the header or the tensor data does not match its checksum", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_flipped_bit_in_the_step_key_name_is_refused_not_loaded_as_step_0()
    {
        byte[] file = File.ReadAllBytes(Saved());
        var e = LoadFails(Write(EditHeader(file, "modeldsl.step", "modeldsl.stap"), "stepkey.safetensors"));
        Assert.Contains("does not match its checksum", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_flipped_bit_in_the_checksum_key_name_does_not_switch_checking_off()
    {
        byte[] file = File.ReadAllBytes(Saved());
        string path = Write(EditHeader(file, "modeldsl.crc32c", "modeldsl.crc33c"), "crckey.safetensors");
        var e = LoadFails(path);
        Assert.Equal($"{path}: the header has ModelDsl metadata ('modeldsl.crc33c', 'modeldsl.format', 'modeldsl.model', 'modeldsl.step') " +
            "but no 'modeldsl.crc32c' checksum: the header is corrupt (or was edited by hand); the file cannot be trusted", e.Message);
    }

    [Fact]
    public void A_flipped_bit_in_a_tensor_name_or_shape_is_refused()
    {
        byte[] file = File.ReadAllBytes(Saved());
        // Both edits leave a structurally valid file; only the checksum can tell.
        var e = LoadFails(Write(EditHeader(file, "optimizer.state1.logits.0.weight", "optimizer.state1.logits.0.weighu"), "name.safetensors"));
        Assert.Contains("does not match its checksum", e.Message, StringComparison.Ordinal);
        e = LoadFails(Write(EditHeader(file, "\"shape\":[2,3],\"data_offsets\":[0,24]", "\"shape\":[3,2],\"data_offsets\":[0,24]"), "shape.safetensors"));
        Assert.Contains("does not match its checksum", e.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Every single-bit flip anywhere in the length prefix and the header of a saved file is refused, or (where it
    /// cannot change the meaning, e.g. JSON whitespace) loads exactly the saved model and step: never a silently
    /// different one. A sample of data bits is checked too.
    /// </summary>
    [Fact]
    public void Every_single_bit_flip_in_the_header_is_refused_or_harmless()
    {
        string original = Saved(step: 1234);
        byte[] file = File.ReadAllBytes(original);
        float[][] expected = Snapshot(Tiny(1f, states: 2));
        string path = PathOf("flip.safetensors");
        int refused = 0, harmless = 0;
        var positions = Enumerable.Range(0, HeaderEnd(file)).Concat(Enumerable.Range(HeaderEnd(file), file.Length - HeaderEnd(file)).Where(i => i % 7 == 0));
        foreach (int at in positions)
        {
            for (int bit = 0; bit < 8; bit++)
            {
                byte[] copy = (byte[])file.Clone();
                copy[at] ^= (byte)(1 << bit);
                File.WriteAllBytes(path, copy);
                var into = Tiny(7f, states: 2);
                try
                {
                    int step = Safetensors.Load(path, Model, into);
                    Assert.True(step == 1234 && Snapshot(into).Zip(expected).All(p => p.First.SequenceEqual(p.Second)),
                        $"a flip of bit {bit} at byte {at} loaded step {step} and different values silently");
                    harmless++;
                }
                catch (InvalidDataException)
                {
                    refused++;
                }
            }
        }
        Assert.True(refused > 0);
        Assert.True(harmless < refused / 10, $"{harmless} harmless flips against {refused} refused");
    }

    [Fact]
    public void A_step_of_int_MaxValue_is_refused_on_load_and_on_save()
    {
        // Before: it loaded, the next TrainStep wrapped the counter to a negative step and every later Save was refused.
        byte[] data = new byte[32];
        string header = "{\"__metadata__\":{\"format\":\"pt\",\"modeldsl.model\":\"FashionMlp\",\"modeldsl.step\":\"2147483647\"}," +
            "\"logits.0.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},\"logits.0.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]}}";
        string path = Write(Build(HandBuiltChecksum.Sign(header, data), data), "max.safetensors");
        var e = LoadFails(path);
        Assert.Equal($"{path}: __metadata__ 'modeldsl.step' is 2147483647, out of range (0 to 2147483646: a model at step 2147483647 could not take another step)", e.Message);

        Assert.Throws<ArgumentOutOfRangeException>(() => Safetensors.Save(PathOf("x.safetensors"), Model, Tiny(0f), int.MaxValue));
        Assert.Throws<ArgumentOutOfRangeException>(() => Checkpoint.Save(PathOf("x.ckpt"), Model, Tiny(0f), int.MaxValue));
        string atLimit = Saved(step: Checkpoint.MaxStep, name: "limit.safetensors");
        Assert.Equal(Checkpoint.MaxStep, Safetensors.Load(atLimit, Model, Tiny(0f)));
    }

    private static byte[] Build(string header, byte[] data)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        int n = (json.Length + 7) / 8 * 8;
        var file = new byte[8 + n + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)n);
        json.CopyTo(file, 8);
        file.AsSpan(8 + json.Length, n - json.Length).Fill((byte)' ');
        data.CopyTo(file, 8 + n);
        return file;
    }

    private static byte[] F32(params float[] values)
    {
        var bytes = new byte[4 * values.Length];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), values[i]);
        return bytes;
    }

    /// <summary>A file as the previous writer made it: no modeldsl.format, a CRC-32C of the data section alone.</summary>
    private static byte[] FormatOneFile(int step, byte[] data)
    {
        string crc = HandBuiltChecksum.BitwiseCrc32C(data).ToString("x8", CultureInfo.InvariantCulture);
        string header = "{\"__metadata__\":{\"format\":\"pt\",\"modeldsl.crc32c\":\"" + crc + "\",\"modeldsl.model\":\"FashionMlp\"," +
            $"\"modeldsl.step\":\"{step}\"}}," +
            "\"logits.0.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},\"logits.0.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]}}";
        return Build(header, data);
    }

    [Fact]
    public void Format_1_files_from_the_previous_writer_still_load_and_their_data_is_still_checked()
    {
        byte[] data = F32(1, 2, 3, 4, 5, 6, 7, 8);
        var into = Tiny(0f);
        Assert.Equal(77, Safetensors.Load(Write(FormatOneFile(77, data), "v1.safetensors"), Model, into));
        Assert.Equal([1f, 2, 3, 4, 5, 6], into[0].Value);
        Assert.Equal([7f, 8], into[1].Value);

        byte[] flipped = FormatOneFile(77, data);
        flipped[^3] ^= 4;
        var e = LoadFails(Write(flipped, "v1flip.safetensors"));
        Assert.Contains("the tensor data does not match its checksum", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_format_this_runtime_does_not_know_is_named()
    {
        byte[] file = File.ReadAllBytes(Saved());
        string path = Write(EditHeader(file, "\"modeldsl.format\":\"2\"", "\"modeldsl.format\":\"3\""), "v3.safetensors");
        Assert.Equal($"{path}: __metadata__ 'modeldsl.format' is \"3\": not a checkpoint format this runtime reads " +
            "(2, or none for files written before formats were numbered); written by a newer ModelDsl, or corrupt", LoadFails(path).Message);
    }

    [Fact]
    public void Files_without_ModelDsl_metadata_still_load_unchecked_like_pytorch_save_file()
    {
        // safetensors.torch.save_file(state_dict, path, metadata={"format": "pt"}): no modeldsl.* keys, no checksum.
        byte[] data = F32(0.5f, -1.5f, 1, 2, 3, 4, 5, 6);
        string header = "{\"__metadata__\":{\"format\":\"pt\"},\"logits.0.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}," +
            "\"logits.0.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]}}";
        var into = Tiny(9f, states: 1);
        Assert.Equal(0, Safetensors.Load(Write(Build(header, data), "torch.safetensors"), Model, into));
        Assert.Equal([1f, 2, 3, 4, 5, 6], into[0].Value);
        // And with no __metadata__ at all.
        string bare = header.Replace("\"__metadata__\":{\"format\":\"pt\"},", "", StringComparison.Ordinal);
        Assert.Equal(0, Safetensors.Load(Write(Build(bare, data), "bare.safetensors"), Model, Tiny(9f)));
    }

    [Fact]
    public void A_checkpoint_re_serialised_by_another_tool_with_the_same_content_still_loads()
    {
        // The checksum covers the header's content, not its bytes: another key order and padding keep it valid.
        byte[] data = F32(1, 2, 3, 4, 5, 6, 7, 8);
        string header = "{\"__metadata__\":{\"modeldsl.step\":\"5\",\"format\":\"pt\",\"modeldsl.model\":\"FashionMlp\"}," +
            "\"logits.0.bias\":{\"shape\":[2],\"dtype\":\"F32\",\"data_offsets\":[24,32]},\"logits.0.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}";
        string signed = HandBuiltChecksum.Sign(header, data).Replace(",", ", ", StringComparison.Ordinal);
        Assert.Equal(5, Safetensors.Load(Write(Build(signed, data), "reordered.safetensors"), Model, Tiny(0f)));
    }

    // ---- item 11: say what the file is ----------------------------------------------------------------------------

    [Fact]
    public void An_MDLCKPT1_checkpoint_given_to_Load_is_read_not_reported_as_a_huge_header()
    {
        // Before: "the header length is 3554554290084004941 bytes, more than the 100000000-byte limit".
        string path = PathOf("old.ckpt");
        Checkpoint.Save(path, Model, Tiny(3f, states: 2), 321);
        var into = Tiny(0f);
        Assert.Equal(321, Safetensors.Load(path, Model, into));
        Assert.Equal(Snapshot(Tiny(3f, states: 2)), Snapshot(into));

        var e = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Open(path));
        Assert.Equal($"{path}: not a safetensors file: it is a ModelDsl checkpoint in the older MDLCKPT1 format " +
            "(Safetensors.Load and a model's Load read it; Checkpoint.Load reads it directly)", e.Message);
    }

    [Fact]
    public void A_folder_given_to_Load_is_called_a_folder_not_access_denied()
    {
        string folder = PathOf("a-folder");
        Directory.CreateDirectory(folder);
        Assert.Equal($"{folder}: is a folder, not a checkpoint file",
            Assert.Throws<IOException>(() => Safetensors.Load(folder, Model, Tiny(0f))).Message);
        Assert.Equal($"{folder}: is a folder, not a checkpoint file",
            Assert.Throws<IOException>(() => Checkpoint.Load(folder, Model, Tiny(0f))).Message);
        Assert.Equal($"{folder}: is a folder, not a checkpoint file",
            Assert.Throws<IOException>(() => SafetensorsFile.Open(folder)).Message);
    }

    [Fact]
    public void Save_errors_name_the_target_not_the_temporary_file()
    {
        string missing = PathOf(Path.Combine("no-such-folder", "model.safetensors"));
        var e = Assert.Throws<DirectoryNotFoundException>(() => Safetensors.Save(missing, Model, Tiny(0f), 1));
        Assert.Equal($"{missing}: cannot save: the folder {Path.GetDirectoryName(missing)} does not exist", e.Message);
        var c = Assert.Throws<DirectoryNotFoundException>(() => Checkpoint.Save(missing, Model, Tiny(0f), 1));
        Assert.DoesNotContain(".tmp", c.Message, StringComparison.Ordinal);
        Assert.StartsWith(missing, c.Message, StringComparison.Ordinal);
    }
}
