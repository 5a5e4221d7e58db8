using IntegrityVolume.Core;
using IntegrityVolume.Core.Arrays;
using Xunit;

namespace IntegrityVolume.Tests.Core;

/// <summary>
/// md placement of member sectors. What md itself writes is checked in the kernel scenario 21-locate-stack (every array
/// sector stamped through /dev/mdX, read back from each leg); here the maps are checked against published layout
/// tables (not our formulas): the four raid5 layouts on 4 disks as mdadm's layout guides draw them, raid6's "Q D D D P"
/// and "D D P Q D" rows from raid5.c's own comments, raid10 near 2 copies on 3 disks as md(4) and the RAID 10 literature
/// draw it; plus the properties every layout must have and the sysfs intake with its error ids.
/// </summary>
public sealed class MdGeometryTests : IDisposable
{
    private readonly string _sys = Directory.CreateTempSubdirectory("ivol-mdsys-").FullName;

    public void Dispose() => Directory.Delete(_sys, recursive: true);

    private static MdGeometry Geo(string level, int layout, int disks, ulong chunk = 8, ulong component = 8 * 40) => new()
    {
        Array = "md9", Level = level, Layout = layout, ChunkSectors = chunk, RaidDisks = disks, ComponentSectors = component,
        Members = Enumerable.Range(0, disks).Select(i => new MdMember($"dm-{i}", i, 0)).ToArray(),
    };

    /// <summary>A drawn layout: rows (stripes) of cells per disk, "Dn" = array chunk n, "P"/"Q" = parity.</summary>
    private static void AssertLayout(MdGeometry g, string[] rows)
    {
        for (int row = 0; row < rows.Length; row++)
        {
            string[] cells = rows[row].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(g.RaidDisks, cells.Length);
            for (int disk = 0; disk < cells.Length; disk++)
            {
                // Sector 3 of the chunk: the offset inside the chunk carries over.
                var loc = g.Map(disk, 0, (ulong)row * g.ChunkSectors + 3);
                string cell = cells[disk];
                if (cell is "P" or "Q") Assert.Equal((MdLegRole.Parity, cell), (loc.Role, loc.Detail));
                else
                {
                    Assert.Equal(MdLegRole.Data, loc.Role);
                    Assert.Equal(ulong.Parse(cell[1..]) * g.ChunkSectors + 3, loc.ArraySector);
                }
            }
        }
    }

    // The four raid5 layouts on 4 disks (sda1 sdb1 sdc1 sde1), rows = stripes, as the mdadm layout guides draw them.
    [Theory]
    [InlineData(0, "D0 D1 D2 P|D3 D4 P D5|D6 P D7 D8|P D9 D10 D11|D12 D13 D14 P")]     // left-asymmetric
    [InlineData(1, "P D0 D1 D2|D3 P D4 D5|D6 D7 P D8|D9 D10 D11 P|P D12 D13 D14")]     // right-asymmetric
    [InlineData(2, "D0 D1 D2 P|D4 D5 P D3|D8 P D6 D7|P D9 D10 D11|D12 D13 D14 P")]     // left-symmetric (md's default)
    [InlineData(3, "P D0 D1 D2|D5 P D3 D4|D7 D8 P D6|D9 D10 D11 P|P D12 D13 D14")]     // right-symmetric
    public void Raid5_layouts_match_the_published_tables(int layout, string table) =>
        AssertLayout(Geo("raid5", layout, 4), table.Split('|'));

    [Fact]
    public void Raid5_parity_first_and_last_and_raid4_keep_parity_on_one_disk()
    {
        AssertLayout(Geo("raid5", 4, 3), ["P D0 D1", "P D2 D3"]);
        AssertLayout(Geo("raid5", 5, 3), ["D0 D1 P", "D2 D3 P"]);
        AssertLayout(Geo("raid4", 0, 3), ["D0 D1 P", "D2 D3 P"]);
    }

    [Fact]
    public void Raid6_rows_follow_the_kernels_own_pictures()
    {
        // raid5.c, left-asymmetric raid6: "Q D D D P" when P is on the last disk, else "D D P Q D" (data skips P and Q).
        AssertLayout(Geo("raid6", 0, 5), ["Q D0 D1 D2 P", "D3 D4 D5 P Q", "D6 D7 P Q D8"]);
        // Left-symmetric (md's default), worked by hand from raid5.c's rule: P walks back from the last disk, Q right
        // after it (wrapping to disk 0), data starts after Q and wraps.
        AssertLayout(Geo("raid6", 2, 4), ["Q D0 D1 P", "D2 D3 P Q", "D5 P Q D4", "P Q D6 D7", "Q D8 D9 P"]);
    }

    [Fact]
    public void Raid10_near_two_copies_on_three_disks_matches_md4()
    {
        // md(4) near layout, 2 copies on 3 devices: each chunk on two adjacent devices, wrapping to the next row.
        //   disk0 disk1 disk2
        //   A0    A0    A1
        //   A1    A2    A2
        var g = Geo("raid10", 0x102, 3);
        (int Disk, ulong Row, ulong Chunk, int Copy)[] cells =
            [(0, 0, 0, 0), (1, 0, 0, 1), (2, 0, 1, 0), (0, 1, 1, 1), (1, 1, 2, 0), (2, 1, 2, 1)];
        foreach (var c in cells)
        {
            var loc = g.Map(c.Disk, 0, c.Row * 8 + 5);
            Assert.Equal(MdLegRole.Data, loc.Role);
            Assert.Equal(c.Chunk * 8 + 5, loc.ArraySector);
            Assert.Equal(c.Copy, loc.Copy);
        }
    }

    public static TheoryData<string, int, int> Layouts()
    {
        var d = new TheoryData<string, int, int>();
        foreach (int layout in new[] { 0, 1, 2, 3, 4, 5 }) { d.Add("raid5", layout, 3); d.Add("raid5", layout, 5); }
        foreach (int layout in new[] { 0, 1, 2, 3, 4, 5, 16, 17, 18, 19, 20 }) { d.Add("raid6", layout, 4); d.Add("raid6", layout, 6); }
        d.Add("raid4", 5, 4);
        d.Add("raid10", 0x102, 3); d.Add("raid10", 0x102, 4); d.Add("raid10", 0x103, 5);
        d.Add("raid1", 0, 3);
        return d;
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Every_array_sector_lives_on_the_right_number_of_members_and_each_stripe_has_its_parity(string level, int layout, int disks)
    {
        var g = Geo(level, layout, disks);
        int copies = level switch { "raid1" => disks, "raid10" => layout & 0xff, _ => 1 };
        var seen = new Dictionary<ulong, int>();
        for (int slot = 0; slot < disks; slot++)
            for (ulong s = 0; s < g.ComponentSectors; s++)
            {
                var loc = g.Map(slot, 0, s);
                if (loc.Role == MdLegRole.Data) seen[loc.ArraySector!.Value] = seen.GetValueOrDefault(loc.ArraySector.Value) + 1;
                // raid10 with raid disks not a multiple of the copies: the last row's leftover positions hold no chunk.
                else if (level == "raid10") Assert.True(loc.Role == MdLegRole.BeyondArray && s >= g.ComponentSectors - g.ChunkSectors, $"slot {slot} sector {s}: {loc}");
                else Assert.Equal(MdLegRole.Parity, loc.Role);
            }
        Assert.Equal(g.ArraySectors, (ulong)seen.Count);
        Assert.All(seen, kv => Assert.Equal(copies, kv.Value));
        Assert.Equal(g.ArraySectors - 1, seen.Keys.Max());
        // Place() is the forward map: the member it names maps back to the same array sector.
        for (ulong a = 0; a < g.ArraySectors; a += 7)
        {
            var (slot, memberSector) = g.Place(a);
            Assert.Equal(a, g.Map(slot, 0, memberSector).ArraySector);
        }
        if (g.ParityDisks > 0)
            for (ulong stripe = 0; stripe < g.ComponentSectors / g.ChunkSectors; stripe++)
                Assert.Equal(g.ParityDisks, Enumerable.Range(0, disks).Count(slot => g.Map(slot, 0, stripe * g.ChunkSectors).Role == MdLegRole.Parity));
    }

    [Fact]
    public void The_data_offset_and_the_component_size_bound_the_data()
    {
        var g = Geo("raid5", 2, 3, chunk: 8, component: 8 * 10 + 3);   // a partial last chunk md does not use
        Assert.Equal(MdLegRole.MdMetadata, g.Map(1, 2048, 2047).Role);
        Assert.Equal(MdLegRole.Data, g.Map(0, 2048, 2048).Role);
        Assert.Equal(0UL, g.Map(0, 2048, 2048).ArraySector);
        Assert.Equal(MdLegRole.BeyondArray, g.Map(0, 2048, 2048 + 80).Role);
        Assert.Equal(MdLegRole.BeyondArray, g.Map(0, 2048, 2048 + 83).Role);
        Assert.Equal(160UL, g.ArraySectors);
        Assert.Equal(100UL, Geo("raid1", 0, 2, chunk: 0, component: 100).ArraySectors);
    }

    private void WriteArray(string name, string level, int layout, int chunkBytes, int disks, string reshape = "none")
    {
        string md = Path.Combine(_sys, "block", name, "md");
        Directory.CreateDirectory(md);
        File.WriteAllText(Path.Combine(md, "level"), level + "\n");
        File.WriteAllText(Path.Combine(md, "layout"), layout + "\n");
        File.WriteAllText(Path.Combine(md, "chunk_size"), chunkBytes + "\n");
        File.WriteAllText(Path.Combine(md, "raid_disks"), disks + "\n");
        File.WriteAllText(Path.Combine(md, "component_size"), "14336\n");
        File.WriteAllText(Path.Combine(md, "reshape_position"), reshape + "\n");
        for (int i = 0; i < disks; i++)
        {
            string dev = Path.Combine(md, $"dev-dm-{i}");
            Directory.CreateDirectory(dev);
            File.WriteAllText(Path.Combine(dev, "slot"), (i == disks - 1 ? "none" : i.ToString()) + "\n");
            File.WriteAllText(Path.Combine(dev, "offset"), "2048\n");
        }
    }

    [Fact]
    public void Sysfs_geometry_is_read_in_md_units()
    {
        WriteArray("md5", "raid5", 2, 16384, 4);
        var g = MdGeometry.Read("md5", _sys);
        Assert.Equal(("raid5", 2, 32UL, 4, 28672UL), (g.Level, g.Layout, g.ChunkSectors, g.RaidDisks, g.ComponentSectors));
        Assert.Equal("left-symmetric", g.LayoutName);
        Assert.Equal(new MdMember("dm-0", 0, 2048), g.Members[0]);
        Assert.Null(g.Members[3].Slot);   // "none": a spare
    }

    [Theory]
    [InlineData("raid0", 0, "none")]
    [InlineData("linear", 0, "none")]
    [InlineData("raid10", 0x201, "none")]     // far 2
    [InlineData("raid10", 0x10102, "none")]   // offset
    [InlineData("raid6", 8, "none")]          // DDF rotating-zero-restart
    [InlineData("raid5", 2, "12345")]         // reshape under way
    public void Layouts_we_cannot_place_are_refused_with_a_stable_id(string level, int layout, string reshape)
    {
        WriteArray("md7", level, layout, 65536, 4, reshape);
        var e = Assert.Throws<IntegrityVolumeException>(() => MdGeometry.Read("md7", _sys));
        Assert.Equal(ErrorIds.ArrayLayoutNotSupported, e.ErrorId);
    }

    [Fact]
    public void A_missing_array_is_not_found()
    {
        var e = Assert.Throws<IntegrityVolumeException>(() => MdGeometry.Read("md404", _sys));
        Assert.Equal(ErrorIds.DeviceNotFound, e.ErrorId);
    }
}
