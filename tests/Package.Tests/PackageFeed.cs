using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Xml.Linq;
using ModelDsl.Tests.Shared;

namespace ModelDsl.Package.Tests;

/// <summary>
/// ModelDsl and ModelDsl.Training packed once (from this build's outputs, no build of their own) into a folder feed
/// under a version no package folder can already hold, with a nuget.config that restores into a private package
/// folder (the machine's as a fallback for the dependencies). Shared by the consumer-project tests of the "Packed
/// package" collection, which then differ only in the project they write.
/// </summary>
public sealed class PackageFeed : IDisposable
{
#if DEBUG
    public const string Configuration = "Debug";
#else
    public const string Configuration = "Release";
#endif

    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(300);

    public PackageFeed()
    {
        Root = RepoRoot();
        Directory = Path.Combine(Path.GetTempPath(), "modeldsl-consumer-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        string feed = Path.Combine(Directory, "feed");
        string packages = Path.Combine(Directory, "packages");
        Version = ReadVersion(Root) + "-consumer." + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff", CultureInfo.InvariantCulture);
        foreach (string project in new[] { "ModelDsl", "ModelDsl.Training" })
        {
            RunIn(Root, null, "pack", Path.Combine(Root, "Packaging", project, project + ".csproj"), "-c", Configuration, "--no-build", "--no-restore",
                "-nologo", "-nodeReuse:false", "-o", feed, "-p:PackageVersion=" + Version);
        }

        string machineCache = System.Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        File.WriteAllText(Path.Combine(Directory, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config>
                <add key="globalPackagesFolder" value="{packages}" />
              </config>
              <packageSources>
                <add key="modeldsl-local" value="{feed}" />
              </packageSources>
              <fallbackPackageFolders>
                <add key="machine" value="{machineCache}" />
              </fallbackPackageFolders>
            </configuration>
            """);
        Environment = new Dictionary<string, string> { ["NUGET_PACKAGES"] = packages };
    }

    /// <summary>The repository root.</summary>
    public string Root { get; }

    /// <summary>The temporary folder holding the feed, the package folder, nuget.config and the projects.</summary>
    public string Directory { get; }

    public string Version { get; }

    public IReadOnlyDictionary<string, string> Environment { get; }

    /// <summary>
    /// A project folder (under <see cref="Directory"/>, so the feed's nuget.config applies) with a console csproj that
    /// references both packages, as <c>dotnet new console</c> and two <c>dotnet add package</c> would leave it.
    /// </summary>
    public string CreateConsoleProject(string name, params (string Id, string Version)[] otherPackages)
    {
        string others = string.Concat(otherPackages.Select(package => $"""

                <PackageReference Include="{package.Id}" Version="{package.Version}" />
            """));
        string folder = Path.Combine(Directory, name);
        System.IO.Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, name + ".csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="ModelDsl" Version="{Version}" />
                <PackageReference Include="ModelDsl.Training" Version="{Version}" />{others}
              </ItemGroup>
            </Project>
            """);
        return folder;
    }

    /// <summary>Runs the dotnet CLI in <paramref name="directory"/> with the feed's environment; fails the test on a non-zero exit.</summary>
    public string Run(string directory, params string[] arguments) => RunIn(directory, Environment, arguments);

    private static string RunIn(string directory, IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        var (exitCode, output) = DotNet.Run(directory, Timeout, environment, arguments);
        Assert.True(exitCode == 0, $"dotnet {arguments[0]} failed (exit code {exitCode}):{System.Environment.NewLine}{output}");
        return output;
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>The package version Directory.Build.props sets, which each feed suffixes with its own pre-release label.</summary>
    internal static string ReadVersion(string root)
    {
        string? version = XDocument.Load(Path.Combine(root, "Directory.Build.props")).Descendants("Version").Select(element => element.Value).FirstOrDefault();
        Assert.False(string.IsNullOrWhiteSpace(version), "no Version in Directory.Build.props");
        return version!;
    }

    public static string RepoRoot()
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "ModelDsl.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("ModelDsl.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>The tests that build consumer projects against one <see cref="PackageFeed"/>, one after another.</summary>
[CollectionDefinition(Name)]
public sealed class PackedPackageCollection : ICollectionFixture<PackageFeed>
{
    public const string Name = "Packed package";
}
