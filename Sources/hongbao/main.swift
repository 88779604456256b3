print("hongbao")
