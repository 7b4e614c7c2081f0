using System.Runtime.CompilerServices;

// The training tests check internal pieces directly (the CRC-32C hardware path against the table fallback).
[assembly: InternalsVisibleTo("ModelDsl.Runtime.Tests")]
