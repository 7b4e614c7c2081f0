using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace ModelDsl.Runtime.Tests.Training;

public sealed class CheckpointTests : IDisposable
{
    private const string Model = "FashionMlp";
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("mdlckpt-");

    public void Dispose() => _folder.Delete(recursive: true);

    private string PathOf(string name) => System.IO.Path.Combine(_folder.FullName, name);

    private static Parameter P(string name, params int[] shape) => new(name, shape, "fashion_mlp.model:1");

    /// <summary>A small MLP's parameters with distinct values (and Adam state when asked).</summary>
    private static List<Parameter> Mlp(float offset, int states = 0)
    {
        var list = new List<Parameter> { P("hidden.weight", 4, 6), P("hidden.bias", 4), P("logits.weight", 3, 4), P("logits.bias", 3) };
        for (int k = 0; k < list.Count; k++)
        {
            Parameter p = list[k];
            p.EnsureState(states);
            for (int i = 0; i < p.Length; i++)
            {
                p.Value[i] = offset + k * 100 + i;
                if (states >= 1) p.State1[i] = -(offset + k * 100 + i);
                if (states >= 2) p.State2[i] = 0.5f * (offset + k * 100 + i);
            }
        }
        return list;
    }

    private static float[][] Snapshot(IEnumerable<Parameter> ps) =>
        ps.SelectMany(p => new[] { (float[])p.Value.Clone(), (float[])p.State1.Clone(), (float[])p.State2.Clone() }).ToArray();

    /// <summary>Loads, expecting failure with exactly <paramref name="problem"/>, and checks nothing changed.</summary>
    private static void LoadFails(string path, string problem, List<Parameter>? into = null, string model = Model)
    {
        into ??= Mlp(7f, states: 2);
        float[][] before = Snapshot(into);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, model, into));
        Assert.Equal($"{path}: {problem}", e.Message);
        Assert.Equal(before, Snapshot(into));
    }

    private string Saved(string name = "fashion.ckpt", int states = 2)
    {
        string path = PathOf(name);
        Checkpoint.Save(path, Model, Mlp(1f, states), optimizerStep: 1234);
        return path;
    }

    private string Variant(string path, Func<byte[], byte[]> change)
    {
        string other = PathOf("variant.ckpt");
        File.WriteAllBytes(other, change(File.ReadAllBytes(path)));
        return other;
    }

    [Fact]
    public void Round_trip_restores_values_state_and_step()
    {
        string path = Saved();
        var loaded = Mlp(0f);                       // no state yet: Load allocates it
        Assert.Equal(1234, Checkpoint.Load(path, Model, loaded));
        Assert.Equal(Snapshot(Mlp(1f, 2)), Snapshot(loaded));
        Assert.Empty(Directory.GetFiles(_folder.FullName, "*.tmp"));
        Assert.Single(Directory.GetFiles(_folder.FullName));
    }

    /// <summary>Issue 17 item 8: a step at which the model could not train on is refused on load (it used to load, and the next TrainStep wrapped the counter).</summary>
    [Fact]
    public void A_step_of_int_MaxValue_is_refused()
    {
        string path = Saved();
        string other = Variant(path, bytes =>
        {
            int at = Checkpoint.HeaderSize + 4 + Encoding.UTF8.GetByteCount(Model);   // after the model name
            Assert.Equal(1234L, BitConverter.ToInt64(bytes, at));
            BitConverter.TryWriteBytes(bytes.AsSpan(at), (long)int.MaxValue);
            BitConverter.TryWriteBytes(bytes.AsSpan(bytes.Length - 4), Crc32C.Compute(bytes.AsSpan(0, bytes.Length - 4)));   // a valid file otherwise
            return bytes;
        });
        LoadFails(other, "optimizer step 2147483647 is out of range (0 to 2147483646: a model at step 2147483647 could not take another step)");
    }

    [Fact]
    public void State_missing_from_the_file_is_zeroed()
    {
        string path = Saved(states: 0);
        var loaded = Mlp(5f, states: 2);
        Checkpoint.Load(path, Model, loaded);
        Assert.Equal(Mlp(1f).Select(p => p.Value), loaded.Select(p => p.Value));
        Assert.All(loaded, p => Assert.All(p.State1.Concat(p.State2), x => Assert.Equal(0f, x)));
    }

    [Fact]
    public void Saving_again_replaces_the_file()
    {
        string path = Saved();
        Checkpoint.Save(path, Model, Mlp(50f), optimizerStep: 9);
        var loaded = Mlp(0f);
        Assert.Equal(9, Checkpoint.Load(path, Model, loaded));
        Assert.Equal(50f, loaded[0].Value[0]);
        Assert.Single(Directory.GetFiles(_folder.FullName));
    }

    /// <summary>A parameter list that fails part-way through the write (the second enumeration), like a disk error.</summary>
    private sealed class FailingList(List<Parameter> inner) : IReadOnlyList<Parameter>
    {
        private int _enumerations;
        public Parameter this[int index] => inner[index];
        public int Count => inner.Count;
        public IEnumerator<Parameter> GetEnumerator()
        {
            bool fail = ++_enumerations == 2;
            for (int i = 0; i < inner.Count; i++)
            {
                if (fail && i == 2) throw new IOException("simulated failure mid-write");
                yield return inner[i];
            }
        }
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    [Fact]
    public void A_failure_mid_write_leaves_the_old_file_and_no_temporary_file()
    {
        string path = Saved();
        byte[] old = File.ReadAllBytes(path);
        Assert.Throws<IOException>(() => Checkpoint.Save(path, Model, new FailingList(Mlp(99f)), 1));
        Assert.Equal(old, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(_folder.FullName));
    }

    [Fact]
    public void A_failed_rename_removes_the_temporary_file()
    {
        string path = PathOf("occupied");
        Directory.CreateDirectory(path);   // a folder where the checkpoint should go: the final move fails
        Assert.ThrowsAny<Exception>(() => Checkpoint.Save(path, Model, Mlp(1f), 1));
        Assert.Empty(Directory.GetFiles(_folder.FullName));
    }

    [Fact]
    public void Duplicate_parameter_names_are_refused_before_writing()
    {
        string path = PathOf("dup.ckpt");
        Assert.Throws<ArgumentException>(() => Checkpoint.Save(path, Model, [P("w", 2), P("w", 2)], 0));
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Truncation_is_reported_at_any_offset()
    {
        string path = Saved();
        long length = new FileInfo(path).Length;
        foreach (long keep in new[] { 0L, 3, 8, 12, 19 })
            LoadFails(Variant(path, b => b[..(int)keep]), $"truncated: the file has {keep} bytes, fewer than the 20-byte header");
        foreach (long keep in new[] { 20L, 27, 60, length / 2, length - 5, length - 1 })
            LoadFails(Variant(path, b => b[..(int)keep]), $"truncated: the file has {keep} bytes but its header says {length}");
    }

    [Fact]
    public void Appended_bytes_are_reported()
    {
        string path = Saved();
        long length = new FileInfo(path).Length;
        LoadFails(Variant(path, b => [.. b, 0, 0]),
            $"the file has {length + 2} bytes but its header says {length} (data appended, or a corrupt header)");
    }

    [Theory]
    [InlineData(-1)]    // in the checksum itself
    [InlineData(-40)]   // in the last parameter's data
    [InlineData(30)]    // in the model name
    [InlineData(60)]    // in the first parameter's header
    public void A_flipped_byte_fails_the_checksum(int offset)
    {
        string path = Saved();
        string bad = Variant(path, b => { b[offset < 0 ? b.Length + offset : offset] ^= 0x10; return b; });
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(bad, Model, Mlp(0f)));
        Assert.StartsWith($"{bad}: checksum mismatch (stored 0x", e.Message);
        Assert.EndsWith("): the file is corrupt", e.Message);
        LoadFails(bad, e.Message[(bad.Length + 2)..]);
    }

    [Fact]
    public void Wrong_magic_and_version()
    {
        string path = Saved();
        LoadFails(Variant(path, b => { b[0] = (byte)'X'; return b; }),
            "not a ModelDsl checkpoint (it starts with \"XDLCKPT1\", expected \"MDLCKPT1\")");
        LoadFails(Variant(path, _ => Encoding.ASCII.GetBytes("PK")), "not a ModelDsl checkpoint (it starts with \"PK\", expected \"MDLCKPT1\")");
        LoadFails(Variant(path, b => { b[8] = 2; return b; }), "checkpoint format version 2 is not supported (this runtime reads version 1)");
    }

    [Fact]
    public void Wrong_model_name()
    {
        LoadFails(Saved(), "the checkpoint is of model 'FashionMlp', not OtherModel", model: "OtherModel");
    }

    [Fact]
    public void Missing_extra_renamed_and_reordered_parameters()
    {
        string path = Saved();
        List<Parameter> more = [.. Mlp(7f, 2), P("extra.weight", 2)];
        LoadFails(path, "parameter 'extra.weight' of FashionMlp is missing from the file", more);

        List<Parameter> fewer = Mlp(7f, 2)[..3];
        LoadFails(path, "the file has parameter 'logits.bias', which FashionMlp does not have", fewer);

        List<Parameter> renamed = Mlp(7f, 2);
        renamed[1] = P("hidden.b", 4);
        LoadFails(path, "parameter 'hidden.b' of FashionMlp is missing from the file (the file has 'hidden.bias' in its place)", renamed);

        List<Parameter> dropped = Mlp(7f, 2);
        dropped.RemoveAt(1);   // the file's 'hidden.bias' sits where the model has 'logits.weight'
        LoadFails(path, "the file has parameter 'hidden.bias', which FashionMlp does not have", dropped);

        List<Parameter> swapped = Mlp(7f, 2);
        (swapped[0], swapped[1]) = (swapped[1], swapped[0]);
        LoadFails(path, "parameter 'hidden.bias' is at position 1 in the file but 0 in FashionMlp", swapped);
    }

    [Fact]
    public void Wrong_shape_names_both_shapes()
    {
        string path = PathOf("fashion.ckpt");
        Checkpoint.Save(path, Model, [P("logits.0.weight", 128, 784), P("logits.0.bias", 128)], 3);
        LoadFails(path, "parameter 'logits.0.weight' has shape [128, 784] in the file but [256, 784] in FashionMlp",
            [P("logits.0.weight", 256, 784), P("logits.0.bias", 256)]);
        LoadFails(path, "parameter 'logits.0.weight' has shape [128, 784] in the file but [128, 28, 28] in FashionMlp",
            [P("logits.0.weight", 128, 28, 28), P("logits.0.bias", 128)]);
    }

    [Fact]
    public void Crc32C_hardware_and_table_paths_agree()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
        var bytes = new byte[4099];
        new Random(1).NextBytes(bytes);
        for (int n = 0; n < 40; n++)
            Assert.Equal(~Crc32C.UpdateSoftware(~0u, bytes.AsSpan(n, bytes.Length - 2 * n)), Crc32C.Compute(bytes.AsSpan(n, bytes.Length - 2 * n)));
    }
}
