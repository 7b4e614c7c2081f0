using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;

namespace ModelDsl.Runtime.Tests.Checkpoints;

/// <summary>
/// Issue 17, item 9: the atomic save (write a temporary file, rename it over the target) respects what is at the
/// target. Before, it renamed over anything: a symbolic link became a regular file, mode 0640 became 0644, and as
/// root it replaced a device node. Both formats save through the same code; each case runs for both.
/// </summary>
public sealed class AtomicSaveTests : IDisposable
{
    private const string Model = "FashionMlp";
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("mdlatomic-");

    public void Dispose() => _folder.Delete(recursive: true);

    private string PathOf(string name) => Path.Combine(_folder.FullName, name);

    private static List<Parameter> Tiny(float value)
    {
        var p = new Parameter("w", [3], "m.model:1");
        p.Value.AsSpan().Fill(value);
        return [p];
    }

    public static TheoryData<string> Formats => new() { "safetensors", "ckpt" };

    private static void Save(string format, string path, float value, int step = 1)
    {
        if (format == "ckpt") Checkpoint.Save(path, Model, Tiny(value), step);
        else Safetensors.Save(path, Model, Tiny(value), step);
    }

    private static float Load(string format, string path)
    {
        var into = Tiny(0f);
        if (format == "ckpt") Checkpoint.Load(path, Model, into);
        else Safetensors.Load(path, Model, into);
        return into[0].Value[0];
    }

    private static void Run(string command, params string[] arguments)
    {
        var start = new ProcessStartInfo(command) { RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in arguments) start.ArgumentList.Add(a);
        using Process process = Process.Start(start)!;
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{command} {string.Join(' ', arguments)}: {error}");
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Saving_through_a_symbolic_link_replaces_its_target_and_keeps_the_link(string format)
    {
        Directory.CreateDirectory(PathOf("store"));
        string target = PathOf(Path.Combine("store", "real." + format));
        Save(format, target, 1f);
        string link = PathOf("latest." + format);
        File.CreateSymbolicLink(link, Path.Combine("store", "real." + format));   // relative, as `ln -s` makes them

        Save(format, link, 2f);

        Assert.NotNull(new FileInfo(link).LinkTarget);                    // still a link
        Assert.Equal(Path.Combine("store", "real." + format), new FileInfo(link).LinkTarget);
        Assert.Equal(2f, Load(format, target));                           // the target has the new contents
        Assert.Equal(2f, Load(format, link));
        Assert.Single(Directory.GetFiles(PathOf("store")));               // no temporary file left beside the target
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void A_dangling_link_is_written_through_and_creates_its_target(string format)
    {
        string link = PathOf("dangling." + format);
        File.CreateSymbolicLink(link, PathOf("created." + format));
        Save(format, link, 4f);
        Assert.NotNull(new FileInfo(link).LinkTarget);
        Assert.Equal(4f, Load(format, PathOf("created." + format)));
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void An_existing_file_keeps_its_permissions(string format)
    {
        if (OperatingSystem.IsWindows()) return;   // no Unix modes there; CI runs on Linux
        string path = PathOf("mode." + format);
        Save(format, path, 1f);
        const UnixFileMode mode0640 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;
        File.SetUnixFileMode(path, mode0640);
        Save(format, path, 2f);
        Assert.Equal(mode0640, File.GetUnixFileMode(path));
        Assert.Equal(2f, Load(format, path));
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void A_folder_at_the_path_is_refused_by_name(string format)
    {
        string path = PathOf("occupied");
        Directory.CreateDirectory(path);
        var e = Assert.Throws<IOException>(() => Save(format, path, 1f));
        Assert.Equal($"{path}: cannot save a checkpoint there: it is a folder, not a regular file (refusing to replace it)", e.Message);
        Assert.Empty(Directory.GetFiles(_folder.FullName));
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void A_fifo_at_the_path_is_refused_and_left_in_place(string format)
    {
        if (!OperatingSystem.IsLinux()) return;   // statx; elsewhere only folders are told apart (documented)
        string path = PathOf("pipe");
        Run("mkfifo", path);
        var e = Assert.Throws<IOException>(() => Save(format, path, 1f));
        Assert.Equal($"{path}: cannot save a checkpoint there: it is a named pipe (FIFO), not a regular file (refusing to replace it)", e.Message);
        Assert.True(new FileInfo(path).Exists);
        Assert.Equal([path], Directory.GetFileSystemEntries(_folder.FullName));
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void A_device_node_is_refused_directly_and_through_a_link(string format)
    {
        if (!OperatingSystem.IsLinux()) return;
        // /dev/null is a character device on every Linux machine. Before, root replaced it with a regular file.
        var e = Assert.Throws<IOException>(() => Save(format, "/dev/null", 1f));
        Assert.Equal("/dev/null: cannot save a checkpoint there: it is a character device, not a regular file (refusing to replace it)", e.Message);
        string link = PathOf("to-null");
        File.CreateSymbolicLink(link, "/dev/null");
        e = Assert.Throws<IOException>(() => Save(format, link, 1f));
        Assert.Equal($"{link} (a link to /dev/null): cannot save a checkpoint there: it is a character device, not a regular file (refusing to replace it)", e.Message);
        Assert.NotNull(new FileInfo(link).LinkTarget);
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void A_link_loop_is_reported(string format)
    {
        string a = PathOf("a"), b = PathOf("b");
        File.CreateSymbolicLink(a, b);
        File.CreateSymbolicLink(b, a);
        var e = Assert.Throws<IOException>(() => Save(format, a, 1f));
        Assert.StartsWith($"{a}: cannot save: its symbolic link cannot be followed", e.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Documented behaviour (docs/checkpoints.md): the rename gives the saved path a new file, so another hard link
    /// to the old file keeps the previous checkpoint, whole. Writing in place instead would risk a half-written file.
    /// </summary>
    [Theory]
    [MemberData(nameof(Formats))]
    public void A_hard_link_keeps_the_previous_checkpoint(string format)
    {
        string path = PathOf("main." + format), other = PathOf("other." + format);
        Save(format, path, 1f);
        Run("ln", path, other);
        Save(format, path, 2f);
        Assert.Equal(2f, Load(format, path));
        Assert.Equal(1f, Load(format, other));
    }

    [Fact]
    public void CheckSavePath_refuses_what_Save_refuses_without_writing()
    {
        string folder = PathOf("a-folder");
        Directory.CreateDirectory(folder);
        string missing = PathOf(Path.Combine("missing", "x.safetensors"));
        Assert.Equal(Assert.Throws<IOException>(() => Save("safetensors", folder, 1f)).Message,
            Assert.Throws<IOException>(() => Safetensors.CheckSavePath(folder)).Message);
        Assert.Equal(Assert.Throws<DirectoryNotFoundException>(() => Save("safetensors", missing, 1f)).Message,
            Assert.Throws<DirectoryNotFoundException>(() => Safetensors.CheckSavePath(missing)).Message);
        string fine = PathOf("fine.safetensors");
        Safetensors.CheckSavePath(fine);
        Assert.False(File.Exists(fine));
        Assert.Equal([folder], Directory.GetFileSystemEntries(_folder.FullName));
    }
}
